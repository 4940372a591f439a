/**
 * The log, for text that may come from outside: entry names and interpreters from the kernel, engine
 * output, image contents. A line break would let such text start a workflow command of its own, so
 * every control character is shown as an escape instead.
 */
import * as core from '@actions/core'
import { printable } from './printable.js'

export { printable }

/** The same, for a cell of the job summary (HTML). */
export const html = (text: string): string => printable(text).replace(/[&<>"']/g, c => `&#${c.charCodeAt(0)};`)

export const info = (message: string): void => core.info(printable(message))
export const notice = (message: string, props?: core.AnnotationProperties): void => core.notice(printable(message), props)
export const warning = (message: string, props?: core.AnnotationProperties): void => core.warning(printable(message), props)
export const error = (message: string, props?: core.AnnotationProperties): void => core.error(printable(message), props)
export const debug = (message: string): void => core.debug(printable(message))
