//! `dce pause`: the infra container's entrypoint.
//!
//! It only holds the pod's namespaces open. As PID 1 it must also reap orphans that get
//! re-parented to it, and — because the kernel drops signals with default disposition sent to
//! PID 1 — it blocks the signals it cares about and takes them synchronously with `sigwait`
//! (blocked signals are queued even for PID 1). No handler, no runtime, no threads.

use nix::sys::signal::{SigSet, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};

/// Sleeps until SIGTERM or SIGINT (then returns, exit code 0), reaping every exited child on
/// SIGCHLD.
pub fn run() -> anyhow::Result<()> {
    let mut signals = SigSet::empty();
    signals.add(Signal::SIGTERM);
    signals.add(Signal::SIGINT);
    signals.add(Signal::SIGCHLD);
    signals.thread_block()?;
    loop {
        match signals.wait()? {
            Signal::SIGTERM | Signal::SIGINT => {
                reap_children();
                return Ok(());
            }
            _ => reap_children(),
        }
    }
}

/// Collects every child that has exited; SIGCHLD coalesces, so one signal may stand for many.
fn reap_children() {
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) | Err(_) => return,
            Ok(_) => continue,
        }
    }
}
