/** Archives as plain tar streams: the entry-by-entry writer and reader with their error lines, and a directory tree as a tar (`dimg build-context`'s build_dir). */
export {exportDirectory, importDirectory, type DirArchiveResult, type DirImportOptions} from './directory.js'
export {
  archiveError, archivePath, type ArchiveOptions, type ArchiveProgress, type ArchiveSource, type ArchiveTarget, describeTarError, drainEntry, openTar,
  readSmallEntry, type TarEntry, type TarReader, TarWriter,
} from './tar.js'
