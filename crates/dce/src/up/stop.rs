//! Stopping a local run, escalating like an operator would: a Mesos KILL of the task first
//! (Ctrl-C, SIGTERM or `--timeout`), then SHUTDOWN of the executor, then destroying it.

use std::time::Duration;

use anyhow::Context;
use mesos_agent::{Agent, ExecutorExit, ExecutorProcess};
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::time::Instant;

use super::display::StopRequest;

/// How long the executor may take to exit after the terminal update (it waits for the ACK,
/// which the stand-in sends at once) before it is shut down.
const EXIT_WAIT: Duration = Duration::from_secs(30);

/// Ctrl-C/SIGTERM and the escalation stage reached so far.
pub struct Stopper {
    interrupt: Signal,
    terminate: Signal,
    /// 0: nothing asked; 1: KILL sent; 2: SHUTDOWN sent; 3: destroyed.
    stage: u32,
    /// What asked first.
    request: Option<StopRequest>,
}

impl Stopper {
    /// Takes over SIGINT and SIGTERM for the rest of the run.
    pub fn new() -> anyhow::Result<Stopper> {
        Ok(Stopper {
            interrupt: signal(SignalKind::interrupt()).context("cannot watch SIGINT")?,
            terminate: signal(SignalKind::terminate()).context("cannot watch SIGTERM")?,
            stage: 0,
            request: None,
        })
    }

    /// What asked the pod to stop first, if anything.
    pub fn request(&self) -> Option<StopRequest> {
        self.request
    }

    /// Waits for SIGINT or SIGTERM.
    pub async fn signalled(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }

    /// Takes the next step: KILL the task, SHUTDOWN the executor, destroy it.
    pub fn escalate(&mut self, agent: &Agent, task_id: &str, cause: StopRequest) {
        self.request.get_or_insert(cause);
        self.stage += 1;
        match self.stage {
            1 => {
                let why = match cause {
                    StopRequest::Signal => "stopping the pod",
                    StopRequest::Timeout => "--timeout reached; stopping the pod",
                };
                println!("dce up: {why} (press Ctrl-C again to shut the executor down)");
                agent.kill(task_id, None);
            }
            2 => {
                println!("dce up: shutting the executor down (press Ctrl-C again to destroy it)");
                agent.shutdown();
            }
            _ => {
                println!("dce up: destroying the executor");
                agent.destroy_executor();
            }
        }
    }

    /// After the terminal update: waits for the executor to exit by itself; when it does not
    /// (or on Ctrl-C), shuts it down, then destroys it. `None` if it never exited.
    pub async fn await_exit(
        &mut self,
        agent: &Agent,
        executor: &ExecutorProcess,
    ) -> Option<ExecutorExit> {
        // The task is over: a further step can only be SHUTDOWN or destroy.
        self.stage = self.stage.max(1);
        let mut deadline = Instant::now() + EXIT_WAIT;
        loop {
            tokio::select! {
                exit = executor.wait(EXIT_WAIT * 1000) => return exit.ok(),
                _ = self.signalled() => self.escalate(agent, "", StopRequest::Signal),
                _ = tokio::time::sleep_until(deadline) => {
                    if self.stage >= 3 {
                        return None;
                    }
                    println!("dce up: the executor did not exit after the final update");
                    self.escalate(agent, "", StopRequest::Signal);
                }
            }
            let grace = agent.config().shutdown_grace_period;
            deadline = Instant::now()
                + match self.stage {
                    2 => grace + Duration::from_secs(5),
                    _ => Duration::from_secs(5),
                };
        }
    }
}
