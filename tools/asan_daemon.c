/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Sanitizer defaults built into build/asan/pop3d only (make check-asan).
 *
 * LeakSanitizer can't work in pop3d's processes: at exit it stops the
 * world through a ptrace'ing helper that reads /proc/PID/task, which a
 * chrooted, unprivileged session or pre-login process can't do; the
 * process then ends with a LeakSanitizer error instead of its own status,
 * and such processes have been seen spinning in sched_yield for ever.
 * A setting in the environment can be lost on the way to the daemon
 * (inetd launders the environment, systemd-socket-activate passes on only
 * a few variables, a person runs the binary by hand), so it lives in the
 * binary: the runtime reads these defaults first, and only an explicit
 * detect_leaks in ASAN_OPTIONS or LSAN_OPTIONS overrides them, which
 * tools/check-asan.sh never sets.  The unit tests don't link this file
 * and keep the leak check (on by default on Linux x86-64).
 */

const char	*__asan_default_options(void);

const char *
__asan_default_options(void)
{
	return "detect_leaks=0:strict_string_checks=1:"
	    "detect_stack_use_after_return=1";
}
