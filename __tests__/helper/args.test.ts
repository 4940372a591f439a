import { describe, expect, it } from '@jest/globals'
import { CONTAINER_LABEL, RUN_ID } from '../../src/constants.js'
import { bindMount, helperArgs } from '../../src/helper/args.js'
import { plainInfo as info } from '../helpers/engine.js'

const before = (args: string[], image: string): string[] => args.slice(0, args.indexOf(image))

describe('the helper container asks for no more than it needs', () => {
  it.each([
    [
      'least privilege on a plain engine',
      'least',
      info('name=seccomp,profile=builtin'),
      ['--cap-add', 'SYS_ADMIN'],
      ['--privileged', '--security-opt', '--userns']
    ],
    [
      'AppArmor lifted only where the engine has it',
      'least',
      info('name=apparmor'),
      ['--security-opt', 'apparmor=unconfined'],
      ['label=disable', '--privileged']
    ],
    [
      'SELinux labels lifted only where the engine has them',
      'least',
      info('name=selinux'),
      ['--security-opt', 'label=disable'],
      ['apparmor=unconfined']
    ],
    [
      '--privileged only as the fallback',
      'privileged',
      info('name=apparmor'),
      ['--privileged'],
      ['--cap-add', 'apparmor=unconfined']
    ],
    ["the host's user namespace on a user-namespaced engine", 'least', info('name=userns'), ['--userns', 'host'], []]
  ] as const)('%s', (_, mode, engine, present, absent) => {
    const args = before(helperArgs('busybox', 'n', mode, engine, []), 'busybox')
    for (const a of present) expect(args).toContain(a)
    for (const a of absent) expect(args).not.toContain(a)
  })

  it('runs without a network, as root in the container, named and labelled so it can be found and removed', () => {
    const args = helperArgs('busybox', 'setup-qemu-x-1', 'least', info(), [{ host: '/t/e', target: '/run/setup-qemu/k' }])
    expect(args.slice(0, 2)).toEqual(['run', '--rm'])
    expect(args.join(' ')).toContain('--name setup-qemu-x-1 --label ' + `${CONTAINER_LABEL}=${RUN_ID}`)
    expect(args.join(' ')).toContain('--network none --user 0:0')
    expect(args).toContain('type=bind,source=/t/e,target=/run/setup-qemu/k,readonly')
    expect(args.slice(args.indexOf('busybox') - 2, args.indexOf('busybox') + 2)).toEqual(['--entrypoint', 'sh', 'busybox', '-c'])
  })

  it('refuses a path that --mount would split or unquote', () => {
    expect(() => bindMount({ host: '/a,b', target: '/t' })).toThrow(/comma or a quote/)
    expect(() => bindMount({ host: '/a', target: '/t"' })).toThrow(/comma or a quote/)
    expect(bindMount({ host: '/a:b', target: '/t' })).toEqual(['--mount', 'type=bind,source=/a:b,target=/t,readonly'])
  })
})

describe('files sent on stdin, for an engine that cannot see the runner', () => {
  it('the helper reads its stdin and binds only what is not sent', () => {
    const args = helperArgs(
      'busybox',
      'n',
      'least',
      info(),
      [
        { host: '/runner/temp/e', target: '/run/setup-qemu/k', send: true },
        { host: '/usr/bin/qemu-arm-static', target: '/usr/bin/qemu-arm-static' }
      ],
      'files'
    )
    expect(args).toContain('--interactive')
    expect(args.join(' ')).not.toContain('/runner/temp/e')
    expect(args).toContain('type=bind,source=/usr/bin/qemu-arm-static,target=/usr/bin/qemu-arm-static,readonly')
    expect(args.at(-1)).toBe('stream')
  })
})
