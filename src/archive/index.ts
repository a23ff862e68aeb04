/** Tar archives, the one room that uses tar-stream: the entry-by-entry writer and reader with their error lines, a
 *  directory tree as a tar (`dimg build-context`'s build_dir), and the byte-keeping reader that layers are unpacked with. */
export {byteExtract, type ByteHeader, nameOf} from './byte-extract.js'
export {exportDirectory, importDirectory, type DirArchiveResult, type DirImportOptions} from './directory.js'
export {
  archiveError, archivePath, type ArchiveOptions, type ArchiveProgress, type ArchiveSource, type ArchiveTarget, describeTarError, drainEntry, openTar,
  readSmallEntry, type TarEntry, type TarReader, TarWriter,
} from './tar.js'
