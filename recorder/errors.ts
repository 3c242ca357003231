/**
 * A problem with what the user gave us (a file, an argument), as opposed to a bug in netprov.
 * The CLI prints its message as one line and exits 1; anything else is internal and exits 2.
 * Messages name the file and, where there is one, the byte offset or field.
 */
export class InputError extends Error {
  override name = 'InputError';
}

/**
 * A value of the input its destination cannot hold (a database column: a port of 2^40): the
 * message names the column, and whoever knows the input's file prefixes it (the analyzer's loader).
 */
export class UnfitValue extends InputError {}
