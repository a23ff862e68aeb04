/** The stage sandbox: run a shell stage's commands in a root (bubblewrap or chroot), with its mounts and image user. */
export {accountFilesIn, type AccountFiles, resolveImageUser, type ImageUser, userIn} from './image-user.js'
export {shellQuote} from './shell-quote.js'
export {checkNamespaceSandbox, runStage, StageCommandError, type Isolation, type RunStageOptions, type SandboxMount} from './run-stage.js'
