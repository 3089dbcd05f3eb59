//! One local run: the agent stand-in, the executor subprocess, the status updates as they come,
//! Ctrl-C/`--timeout` turned into KILL, and the executor's exit.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use mesos::{CapabilityType, ExecutorId, TaskStatus};
use mesos_agent::{
    Agent, AgentConfig, Disposition, ExecutorExit, ExecutorLaunch, ExecutorProcess, UpdateRecord,
};
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

use super::display::{self, StopRequest};
use super::sandbox::LocalSandbox;
use super::stop::Stopper;
use super::task::LocalTask;

/// Environment variables of the user that the executor must not inherit: the agent sets the
/// Mesos ones, and a stray value would point the executor at another agent.
const AGENT_OWNED_PREFIXES: [&str; 2] = ["MESOS_", "LIBPROCESS_"];

/// How long to wait for the agent's own terminal update once the executor process is gone.
const AFTER_EXIT_WAIT: Duration = Duration::from_secs(10);

/// Everything a local run needs, resolved from the command line.
#[derive(Debug)]
pub struct LocalRun {
    /// The sandbox and the compose files in it.
    pub sandbox: LocalSandbox,
    /// The task to launch.
    pub task: LocalTask,
    /// `--config`, absolute.
    pub config: Option<PathBuf>,
    /// `--timeout`.
    pub timeout: Option<Duration>,
}

/// Runs the pod to its terminal state; returns the exit code.
pub async fn run(local: LocalRun) -> anyhow::Result<i32> {
    // Ctrl-C is ours from the start: it must never kill `dce up` before the executor has its pod.
    let mut stopper = Stopper::new()?;
    let started = Instant::now();
    let run_dir = std::env::temp_dir().join(format!("dce-up-{}", local.task.task_id));
    std::fs::create_dir_all(&run_dir)
        .with_context(|| format!("cannot create the run directory {}", run_dir.display()))?;
    let agent = Agent::start(AgentConfig {
        executor_id: ExecutorId::new(format!("dce-up-{}", local.task.task_id)),
        capabilities: vec![CapabilityType::TaskKillingState],
        // Without checkpointing, an executor that loses `dce up` (SIGKILLed) kills its pod.
        checkpoint: false,
        ..AgentConfig::default()
    })
    .await
    .context("cannot start the embedded Mesos agent")?;
    let mut feed = agent.update_feed();
    let executor = agent
        .launch_executor(executor_launch(&local, &run_dir)?)
        .await
        .context("cannot launch the executor")?;
    print_header(&local, &executor);
    agent.launch(local.task.task_info());

    let outcome = follow(&agent, &executor, &mut feed, &local, started, &mut stopper).await;
    let exit = stopper.await_exit(&agent, &executor).await;
    let clean = matches!(exit, Some(ExecutorExit::Code(0))) && !agent.destroyed_executor();
    if !clean {
        println!(
            "dce up: the executor {}; removing what the pod left behind",
            describe_exit(exit)
        );
        remove_leftovers(&local.task.task_id).await;
    }
    let code = match &outcome.terminal {
        Some(status) => display::exit_code(status, outcome.stop),
        None => display::EXIT_LOST,
    };
    // The executor's log is kept only when something went wrong; its end is shown when the
    // executor itself failed (a failed pod's update already says why).
    match code {
        0 | display::EXIT_TIMEOUT if clean => {
            let _ = std::fs::remove_dir_all(&run_dir);
        }
        display::EXIT_FAILED if clean => println!(
            "dce up: the executor's log is kept in {}/stderr",
            executor.sandbox().display()
        ),
        _ => print_log_tail(&executor),
    }
    Ok(code)
}

/// How the executor ended, for a person.
fn describe_exit(exit: Option<ExecutorExit>) -> String {
    match exit {
        Some(ExecutorExit::Code(code)) => format!("exited with code {code}"),
        Some(ExecutorExit::Signal(signal)) => format!("was killed by signal {signal}"),
        None => "did not exit and was abandoned".to_string(),
    }
}

/// The executor binary (this one), its arguments and environment.
fn executor_launch(local: &LocalRun, run_dir: &Path) -> anyhow::Result<ExecutorLaunch> {
    let binary =
        std::env::current_exe().context("cannot find the dce binary to run as the executor")?;
    let mut launch = ExecutorLaunch::new(binary);
    launch.args.push("executor".into());
    if let Some(config) = &local.config {
        launch.args.push("--config".into());
        launch.args.push(config.clone().into_os_string());
    }
    // The user's environment feeds compose interpolation, as with `docker compose`; the Mesos
    // variables are the agent's.
    // (Variables that are not UTF-8 cannot be passed through the launcher and are left out.)
    launch.env = std::env::vars_os()
        .filter_map(|(key, value)| Some((key.into_string().ok()?, value.into_string().ok()?)))
        .filter(|(key, _)| !AGENT_OWNED_PREFIXES.iter().any(|p| key.starts_with(p)))
        .collect();
    // MESOS_DIRECTORY (the executor's own stdout/stderr) stays under the run directory;
    // MESOS_SANDBOX, where the pod's files are, is the project directory (see `sandbox`).
    launch.env.push((
        "MESOS_SANDBOX".into(),
        local.sandbox.dir.display().to_string(),
    ));
    launch.sandbox_root = Some(run_dir.to_path_buf());
    Ok(launch)
}

fn print_header(local: &LocalRun, executor: &ExecutorProcess) {
    let project = pod::naming::project_name(&local.task.task_id);
    let files = if local.sandbox.files.is_empty() {
        "its default compose file".to_string()
    } else {
        local.sandbox.files.join(", ")
    };
    let config = pod::config::locate_config_file(
        local.config.as_deref(),
        Some(&local.sandbox.dir),
        Path::new(pod::config::SYSTEM_CONFIG_PATH),
    )
    .map(|p| p.display().to_string())
    .unwrap_or_else(|| "built-in defaults".to_string());
    let dir = local.sandbox.dir.display();
    println!("dce up: task {} → pod {project}", local.task.task_id);
    println!("  sandbox  {dir} ({files})");
    println!("  config   {config}");
    println!("  files    {dir}/pod/ (generated compose, plan), {dir}/logs/ (container output)");
    println!(
        "  executor pid {}, log {}/stderr",
        executor.pid(),
        executor.sandbox().display()
    );
    println!("  inspect  docker compose -p {project} ps");
    println!("Ctrl-C stops the pod.");
}

/// How the run ended.
struct Outcome {
    terminal: Option<TaskStatus>,
    stop: Option<StopRequest>,
}

/// Prints updates until the terminal one, handling Ctrl-C/SIGTERM and `--timeout`.
async fn follow(
    agent: &Agent,
    executor: &ExecutorProcess,
    feed: &mut tokio::sync::broadcast::Receiver<UpdateRecord>,
    local: &LocalRun,
    started: Instant,
    stopper: &mut Stopper,
) -> Outcome {
    let task_id = local.task.task_id.as_str();
    let deadline = local.timeout.map(|t| started + t);
    let mut exited_at: Option<Instant> = None;
    let outcome = |terminal, stopper: &Stopper| Outcome {
        terminal,
        stop: stopper.request(),
    };
    loop {
        let exit_guard = exited_at.map(|at| at + AFTER_EXIT_WAIT);
        tokio::select! {
            received = feed.recv() => match received {
                Ok(record) if record.task_id.as_str() == task_id && shown(&record) => {
                    println!("{}", display::status_line(&record.status, started.elapsed()));
                    if record.is_terminal() {
                        return outcome(Some(record.status), stopper);
                    }
                }
                Ok(_) => {}
                Err(RecvError::Lagged(missed)) => {
                    println!("dce up: {missed} updates were not shown (output too slow)");
                }
                Err(RecvError::Closed) => return outcome(None, stopper),
            },
            _ = stopper.signalled() => stopper.escalate(agent, task_id, StopRequest::Signal),
            _ = sleep_until(deadline), if stopper.request().is_none() => {
                stopper.escalate(agent, task_id, StopRequest::Timeout);
            }
            _ = executor.wait(Duration::from_secs(365 * 24 * 3600)), if exited_at.is_none() => {
                exited_at = Some(Instant::now());
            }
            _ = sleep_until(exit_guard), if exit_guard.is_some() => {
                println!("dce up: the executor exited without a final status update");
                return outcome(None, stopper);
            }
        }
    }
}

/// Updates a person should see: what the agent accepted (and its own, e.g. executor gone).
fn shown(record: &UpdateRecord) -> bool {
    record.disposition == Disposition::Accepted
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// After an abnormal executor exit, removes the pod's objects by its task-id label, as
/// `dce reap` would.
async fn remove_leftovers(task_id: &str) {
    let docker = match docker::connect(&docker::EngineEndpoint::from_env()).await {
        Ok(docker) => docker,
        Err(error) => {
            println!("dce up: cannot clean up: {error}");
            return;
        }
    };
    let options = docker::RemoveOptions {
        named_volumes: false,
        stop_grace: Some(Duration::from_secs(2)),
    };
    match docker::remove_by_labels(
        &docker,
        &docker::PodSelector::Task(task_id.into()),
        &options,
    )
    .await
    {
        Ok(report) => {
            println!(
                "dce up: removed {} containers, {} networks, {} volumes",
                report.containers.len(),
                report.networks.len(),
                report.volumes.len()
            );
            for error in report.errors {
                println!("dce up: clean-up error: {error}");
            }
        }
        Err(error) => println!("dce up: clean-up failed: {error}"),
    }
}

/// The end of the executor's log, kept in the run directory, for a run that did not succeed.
fn print_log_tail(executor: &ExecutorProcess) {
    let log = executor.stderr();
    let lines: Vec<&str> = log.lines().collect();
    let tail = &lines[lines.len().saturating_sub(15)..];
    if !tail.is_empty() {
        println!(
            "dce up: last lines of the executor's log ({}/stderr):",
            executor.sandbox().display()
        );
        for line in tail {
            println!("  {line}");
        }
    }
}
