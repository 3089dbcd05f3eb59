//! `exec` hooks: an operator's program run at hook points, speaking JSON.
//!
//! The program gets `{"hook": "<point>", "plan": <PodPlan>, "task": <TaskContext>}` (plus
//! `"status"` at `on_status`) on stdin. At `pre_pull` and `post_pull` it may print a modified
//! plan (the same JSON shape as `plan`) on stdout; empty output keeps the plan. A non-zero exit,
//! a timeout (the program's process group is killed) or unreadable output is a failure, handled
//! by the hook's failure policy.
//!
//! `plan.project` is a compose document as in `generated-compose.yml` (values are already
//! interpolated, so a literal `$` is written `$$`); a returned plan is loaded back through the
//! compose loader and so validated like a user's file. Programs run synchronously: async
//! callers use `spawn_blocking`.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use serde::Serialize;

use super::{HookPoint, Plugin, StatusNote};
use crate::config::{ExecHookConfig, FailurePolicy};
use crate::context::TaskContext;
use crate::error::PodError;
use crate::plan::PodPlan;

/// Largest stdout accepted from a hook (a plan is a few KiB).
const MAX_OUTPUT: u64 = 16 * 1024 * 1024;
/// Bytes of stderr quoted in a failure message.
const STDERR_TAIL: usize = 2000;
/// How long to wait for output pipes to close after the program exited.
const PIPE_GRACE: Duration = Duration::from_secs(2);

/// The JSON document a hook program reads on stdin.
#[derive(Debug, Serialize)]
pub struct HookRequest<'a> {
    /// The hook point.
    pub hook: HookPoint,
    /// The plan (absent at `shutdown`).
    pub plan: Option<&'a PodPlan>,
    /// The task.
    pub task: &'a TaskContext,
    /// The status update (only at `on_status`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<&'a StatusNote>,
}

/// One configured exec hook (`plugins.exec.<name>`).
#[derive(Debug, Clone)]
pub struct ExecHook {
    name: String,
    config: ExecHookConfig,
}

impl ExecHook {
    /// The hook named `name`.
    pub fn new(name: &str, config: ExecHookConfig) -> Self {
        ExecHook {
            name: name.to_string(),
            config,
        }
    }

    /// Runs the program for `request` when the hook is configured for its point. Returns the
    /// program's plan when it printed one at a point that may change the plan.
    pub fn run(&self, request: &HookRequest<'_>) -> Result<Option<PodPlan>, PodError> {
        if !self.config.hooks.contains(&request.hook) {
            return Ok(None);
        }
        let outcome = serde_json::to_vec(request)
            .map_err(|e| format!("cannot encode the request: {e}"))
            .and_then(|input| self.execute(input))
            .and_then(|output| self.read_plan(request.hook, &output));
        match outcome {
            Ok(plan) => Ok(plan),
            Err(message) => {
                let error = PodError::Plugin {
                    plugin: self.name.clone(),
                    hook: request.hook.name().to_string(),
                    message,
                };
                match self.config.failure {
                    FailurePolicy::Fail => Err(error),
                    FailurePolicy::Ignore => {
                        tracing::warn!(%error, "exec hook failed; ignored by its failure policy");
                        Ok(None)
                    }
                }
            }
        }
    }

    fn read_plan(&self, hook: HookPoint, output: &[u8]) -> Result<Option<PodPlan>, String> {
        if !hook.may_change_plan() || output.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        serde_json::from_slice(output)
            .map(Some)
            .map_err(|e| format!("printed something that is not a plan: {e}"))
    }

    fn execute(&self, input: Vec<u8>) -> Result<Vec<u8>, String> {
        let program = &self.config.program;
        let mut child = Command::new(program)
            .args(&self.config.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot start `{program}`: {e}"))?;
        let pid = child.id();
        let stdin = child.stdin.take();
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        // A program that does not read its stdin must not make the write fail the hook.
        thread::spawn(move || stdin.map(|mut pipe| pipe.write_all(&input)));
        let stdout = read_in_background(stdout);
        let stderr = read_in_background(stderr);
        let (exited, exit) = mpsc::channel();
        thread::spawn(move || exited.send(child.wait()));
        let status = match exit.recv_timeout(self.config.timeout) {
            Ok(status) => status.map_err(|e| format!("cannot wait for `{program}`: {e}"))?,
            Err(_) => {
                kill_group(pid);
                let _ = exit.recv();
                return Err(format!(
                    "`{program}` did not finish within {:?} and was killed",
                    self.config.timeout
                ));
            }
        };
        // Anything the program left running in its group would hold the pipes open.
        kill_group(pid);
        let stderr = stderr.recv_timeout(PIPE_GRACE).unwrap_or_default();
        if !status.success() {
            let text = String::from_utf8_lossy(&stderr);
            let tail: String = text
                .trim()
                .chars()
                .rev()
                .take(STDERR_TAIL)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            return Err(format!("`{program}` failed ({status}): {tail}"));
        }
        let stdout = stdout
            .recv_timeout(PIPE_GRACE)
            .map_err(|_| format!("`{program}` exited but its output did not end"))?;
        if stdout.len() as u64 > MAX_OUTPUT {
            return Err(format!("`{program}` printed more than {MAX_OUTPUT} bytes"));
        }
        Ok(stdout)
    }
}

fn read_in_background(pipe: Option<impl Read + Send + 'static>) -> mpsc::Receiver<Vec<u8>> {
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        let mut buffer = Vec::new();
        if let Some(pipe) = pipe {
            let _ = pipe.take(MAX_OUTPUT + 1).read_to_end(&mut buffer);
        }
        let _ = sender.send(buffer);
    });
    receiver
}

fn kill_group(pid: u32) {
    let group = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw);
    if let Some(group) = group {
        // ESRCH (already gone) is the normal case after a clean exit.
        let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
    }
}

impl Plugin for ExecHook {
    fn name(&self) -> &str {
        &self.name
    }

    fn pre_pull(&self, plan: &mut PodPlan, task: &TaskContext) -> Result<(), PodError> {
        self.change(HookPoint::PrePull, plan, task)
    }

    fn post_pull(&self, plan: &mut PodPlan, task: &TaskContext) -> Result<(), PodError> {
        self.change(HookPoint::PostPull, plan, task)
    }

    fn post_launch(&self, plan: &PodPlan, task: &TaskContext) -> Result<(), PodError> {
        self.notify(HookPoint::PostLaunch, Some(plan), task, None)
    }

    fn pre_kill(&self, plan: &PodPlan, task: &TaskContext) -> Result<(), PodError> {
        self.notify(HookPoint::PreKill, Some(plan), task, None)
    }

    fn post_kill(&self, plan: &PodPlan, task: &TaskContext) -> Result<(), PodError> {
        self.notify(HookPoint::PostKill, Some(plan), task, None)
    }

    fn on_status(
        &self,
        plan: &PodPlan,
        task: &TaskContext,
        status: &StatusNote,
    ) -> Result<(), PodError> {
        self.notify(HookPoint::OnStatus, Some(plan), task, Some(status))
    }

    fn shutdown(&self, task: &TaskContext) -> Result<(), PodError> {
        self.notify(HookPoint::Shutdown, None, task, None)
    }
}

impl ExecHook {
    fn change(
        &self,
        hook: HookPoint,
        plan: &mut PodPlan,
        task: &TaskContext,
    ) -> Result<(), PodError> {
        let request = HookRequest {
            hook,
            plan: Some(plan),
            task,
            status: None,
        };
        if let Some(changed) = self.run(&request)? {
            *plan = changed;
        }
        Ok(())
    }

    fn notify(
        &self,
        hook: HookPoint,
        plan: Option<&PodPlan>,
        task: &TaskContext,
        status: Option<&StatusNote>,
    ) -> Result<(), PodError> {
        self.run(&HookRequest {
            hook,
            plan,
            task,
            status,
        })
        .map(|_| ())
    }
}
