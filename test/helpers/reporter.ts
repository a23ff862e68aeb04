import {quietReporter, type ImageTransferred, type Reporter} from '../../src/workflows/reporter.js'

/** A Reporter that keeps what a workflow told it, for in-process workflow tests: its info and warning lines, and the images it moved. */
export interface RecordingReporter extends Reporter {
  readonly lines: string[]
  readonly warnings: string[]
  readonly images: ImageTransferred[]
}

export function recordingReporter(): RecordingReporter {
  const lines: string[] = []
  const warnings: string[] = []
  const images: ImageTransferred[] = []
  return {
    ...quietReporter,
    lines,
    warnings,
    images,
    info: line => void lines.push(line),
    warn: line => void warnings.push(line),
    image: event => void images.push(event),
  }
}
