/**
 * Text from outside as it may be shown in the log. Toolkit-free: the entry point reports with it when the
 * rest of the bundle, the toolkit with it, did not load.
 */

/** Text as it may be shown: control characters and line separators escaped, the rest as is. */
export const printable = (text: string): string =>
  text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, c => {
    const code = c.charCodeAt(0)
    return code > 0xff ? `\\u${code.toString(16)}` : `\\x${code.toString(16).padStart(2, '0')}`
  })
