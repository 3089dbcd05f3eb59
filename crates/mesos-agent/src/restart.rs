//! Simulated agent restart (ref §6.4): the agent process goes away, comes back, recovers its
//! containerizer, opens the reregistration window, and destroys executors that did not return.

use std::sync::Arc;
use std::time::Duration;

use crate::server::Server;
use crate::shared::Shared;
use crate::state::{ExecutorPhase, RecoveryPhase};

/// Timing of a simulated restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestartPlan {
    /// How long connections are refused (the agent process is gone).
    pub down_for: Duration,
    /// How long every call gets `503 Agent has not finished recovery` afterwards.
    pub recovering_for: Duration,
    /// The reregistration window (SUBSCRIBE accepted, UPDATE/MESSAGE 503); the agent's
    /// `reregistration_timeout` when `None`.
    pub reregistration_window: Option<Duration>,
}

impl Default for RestartPlan {
    /// Down for 1 s, no containerizer-recovery phase, the configured window.
    fn default() -> Self {
        RestartPlan {
            down_for: Duration::from_secs(1),
            recovering_for: Duration::ZERO,
            reregistration_window: None,
        }
    }
}

/// Takes the agent down now and spawns the task that brings it back per `plan`.
pub(crate) fn begin(
    shared: &Arc<Shared>,
    server: &Arc<Server>,
    plan: RestartPlan,
) -> tokio::task::AbortHandle {
    server.stop();
    let checkpoint = shared.with(|st| {
        st.recovery = RecoveryPhase::Down;
        st.stream = None;
        if st.executor == ExecutorPhase::Running {
            // Recovered executors must subscribe again.
            st.executor = ExecutorPhase::Registering;
        }
        if !st.config.checkpoint {
            // Without checkpointing the restarted agent has no record of the framework.
            st.framework_known = false;
        }
        st.config.checkpoint
    });
    let (shared, server) = (Arc::clone(shared), Arc::clone(server));
    tokio::spawn(async move {
        tokio::time::sleep(plan.down_for).await;
        shared.with(|st| st.recovery = RecoveryPhase::ContainerizerRecovering);
        if let Err(e) = server.listen(&shared) {
            tracing::error!(error = %e, "cannot listen again after the simulated restart");
        }
        if !checkpoint {
            // The orphaned container is destroyed during recovery.
            shared.with(|st| st.destroy(st.reregistration_timeout()));
        }
        tokio::time::sleep(plan.recovering_for).await;
        let window = shared.with(|st| {
            st.recovery = RecoveryPhase::Reregistering;
            plan.reregistration_window
                .unwrap_or(st.config.reregistration_timeout)
        });
        tokio::time::sleep(window).await;
        shared.with(|st| {
            if st.executor == ExecutorPhase::Registering && st.framework_known {
                tracing::info!("executor did not reregister: destroying it");
                st.destroy(st.reregistration_timeout());
            }
            st.recovery = RecoveryPhase::Running;
        });
    })
    .abort_handle()
}
