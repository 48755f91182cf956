/** Tar archives: the deterministic writer for image contexts, and the reader. */
export { createTar, type TarEntry } from "./_write.ts";
export { gunzip, readTar, readTarFiles, type TarReadEntry } from "./_read.ts";
