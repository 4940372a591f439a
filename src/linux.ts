/**
 * The runner's operating system. binfmt_misc, where the emulators are registered, is part of the Linux
 * kernel, so on any other system the step stops before it starts anything. Toolkit-free: the early
 * start asks it before it runs a probe.
 */

export const isLinux = (platform: NodeJS.Platform = process.platform): boolean => platform === 'linux'

/** The system as GitHub's `runner.os` names it. */
const RUNNER_OS: Partial<Record<NodeJS.Platform, string>> = { darwin: 'macOS', win32: 'Windows' }

export const runnerOs = (platform: NodeJS.Platform = process.platform): string => RUNNER_OS[platform] ?? platform

/** Why main stops at once on another system, and what to do instead. */
export const notLinux = (platform: NodeJS.Platform = process.platform): string =>
  `this action needs a Linux runner, and this one runs ${runnerOs(platform)}: binfmt_misc, where it registers the ` +
  'emulators, is part of the Linux kernel, so nothing was done. Run this job on ubuntu-* (for example ' +
  "`runs-on: ubuntu-24.04`) or on a self-hosted Linux runner, or skip this step on other runners with `if: runner.os == 'Linux'`."
