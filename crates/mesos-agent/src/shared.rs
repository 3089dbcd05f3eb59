//! The agent state shared by the HTTP handlers, the driver API and the agent's timers: one mutex
//! (never held across an await) plus a change counter that waiters watch.

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::watch;

use crate::config::AgentConfig;
use crate::process::ExecutorExit;
use crate::state::{DelayedAck, ExecutorPhase, State};

/// Shared agent state; see the module docs.
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
    changed: watch::Sender<u64>,
    weak: Weak<Shared>,
}

impl Shared {
    pub(crate) fn new(config: AgentConfig) -> Arc<Shared> {
        Arc::new_cyclic(|weak| Shared {
            state: Mutex::new(State::new(config)),
            changed: watch::channel(0).0,
            weak: weak.clone(),
        })
    }

    /// Runs `f` on the state, then sends what it queued on the stream, schedules delayed ACKs
    /// and wakes waiters.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let (result, delayed) = {
            let mut state = lock(&self.state);
            let result = f(&mut state);
            state.flush();
            (result, std::mem::take(&mut state.delayed_acks))
        };
        self.schedule_acks(delayed);
        self.changed.send_modify(|v| *v = v.wrapping_add(1));
        result
    }

    fn schedule_acks(&self, acks: Vec<DelayedAck>) {
        for ack in acks {
            let weak = self.weak.clone();
            tokio::spawn(async move {
                tokio::time::sleep(ack.delay).await;
                if let Some(shared) = weak.upgrade() {
                    shared.with(|st| st.send_ack(ack.record));
                }
            });
        }
    }

    /// Reads the state.
    pub(crate) fn read<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        f(&lock(&self.state))
    }

    /// A receiver that sees every change made through [`Shared::with`].
    pub(crate) fn changes(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Turns the executor's exit into the agent's terminal updates (ref §6.5).
    pub(crate) fn watch_exit(&self, mut exit: watch::Receiver<Option<ExecutorExit>>) {
        let weak = self.weak.clone();
        tokio::spawn(async move {
            let exit = match exit.wait_for(Option::is_some).await {
                Ok(exit) => *exit,
                Err(_) => None,
            };
            if let Some(shared) = weak.upgrade() {
                shared.with(|st| st.executor_terminated(exit));
            }
        });
    }

    /// Destroys the executor of launch `generation` if it has not subscribed within `timeout`
    /// (ref §6.2 step 4).
    pub(crate) fn arm_registration_timeout(&self, generation: u64, timeout: Duration) {
        let weak = self.weak.clone();
        tokio::spawn(async move {
            tokio::time::sleep(timeout).await;
            if let Some(shared) = weak.upgrade() {
                shared.with(|st| {
                    let current = st.launch_generation == generation;
                    if current
                        && !st.subscribed_since_launch
                        && st.executor == ExecutorPhase::Registering
                    {
                        tracing::info!("executor did not register in time: destroying it");
                        st.destroy(crate::state::Termination {
                            state: mesos::TaskState::Failed,
                            reason: mesos::Reason::ExecutorRegistrationTimeout,
                            message: format!(
                                "Executor did not register within {}",
                                crate::env::stout_duration(timeout)
                            ),
                        });
                    }
                });
            }
        });
    }

    /// After SHUTDOWN the agent destroys the executor once the grace period is over (ref §7.2).
    pub(crate) fn arm_shutdown_destroy(&self, grace: Duration) {
        let weak = self.weak.clone();
        tokio::spawn(async move {
            tokio::time::sleep(grace).await;
            if let Some(shared) = weak.upgrade() {
                shared.with(|st| {
                    if st.executor != ExecutorPhase::Terminated {
                        tracing::info!("shutdown grace period over: destroying the executor");
                        st.destroy(crate::state::Termination {
                            state: mesos::TaskState::Failed,
                            reason: mesos::Reason::ExecutorTerminated,
                            message: "Executor terminated".to_string(),
                        });
                    }
                });
            }
        });
    }
}

/// Locks a mutex, recovering from poisoning (a panicking test thread must not wedge the agent).
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
