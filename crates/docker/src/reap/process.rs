//! Identifying a process robustly against pid reuse: its pid plus its start time, field 22
//! (`starttime`, clock ticks since boot) of `/proc/<pid>/stat`.

use std::io;

use pod::context::parse_stat_start_time;
use serde::Serialize;

/// A process as dce labels it (`io.dce.executor-pid`, `io.dce.executor-start`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct ProcessIdentity {
    pub pid: u32,
    /// `starttime` from `/proc/<pid>/stat`.
    pub start_ticks: u64,
}

impl ProcessIdentity {
    /// The current process, for the labels the executor puts on what it creates.
    pub fn current() -> io::Result<Self> {
        let pid = std::process::id();
        let start_ticks = start_ticks(pid)?.ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, "own /proc/<pid>/stat is missing")
        })?;
        Ok(Self { pid, start_ticks })
    }

    /// Whether the process still exists: same pid and same start time.
    pub fn liveness(&self) -> io::Result<Liveness> {
        Ok(match start_ticks(self.pid)? {
            None => Liveness::Gone,
            Some(actual) if actual == self.start_ticks => Liveness::Alive,
            Some(actual) => Liveness::PidReused {
                actual_start_ticks: actual,
            },
        })
    }
}

/// What became of a labelled process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Liveness {
    Alive,
    /// No process has the pid.
    Gone,
    /// Another process (started at `actual_start_ticks`) now has the pid.
    PidReused {
        actual_start_ticks: u64,
    },
}

/// `starttime` of `pid`, `Ok(None)` when there is no such process.
pub fn start_ticks(pid: u32) -> io::Result<Option<u64>> {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => parse_stat_start_time(&stat).map(Some).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("unparsable /proc/{pid}/stat"),
            )
        }),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_process_is_alive_and_a_wrong_start_is_reuse() {
        let me = ProcessIdentity::current().unwrap();
        assert_eq!(me.liveness().unwrap(), Liveness::Alive);
        let impostor = ProcessIdentity {
            start_ticks: me.start_ticks + 1,
            ..me
        };
        assert!(matches!(
            impostor.liveness().unwrap(),
            Liveness::PidReused { .. }
        ));
    }
}
