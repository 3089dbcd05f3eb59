//! Examples and explanations shown at the end of `--help` for the commands whose argument
//! structs live elsewhere (`dce`, `executor`, `render`, `pause`, `version`); `up` and `reap`
//! carry their own next to their arguments.

/// `dce --help`.
pub const DCE: &str = "\
Examples:
  dce up -f docker-compose.yml           # try a pod locally exactly as Mesos would run it
  dce render -f docker-compose.yml       # show what the executor would create, start nothing
  dce reap --dry-run                     # list leftovers of pods whose executor is gone
  dce executor                           # what a Mesos agent runs (also: `dce` with MESOS_EXECUTOR_ID set)

Documentation: docs/README.md (deploying on Mesos, Marathon and Aurora recipes, configuration,
admission policy, migrating from dce-go, troubleshooting, dce reap).";

/// `dce executor --help`.
pub const EXECUTOR: &str = "\
Examples:
  Marathon app:  \"executor\": \"./dce\" with the dce binary in \"fetch\" (or an absolute path on
                 every agent, e.g. \"/usr/local/bin/dce\"), and the label
                 \"fileName\": \"docker-compose.yml\" naming the compose file(s) in the sandbox.
  By hand:       MESOS_EXECUTOR_ID=… MESOS_FRAMEWORK_ID=… MESOS_AGENT_ENDPOINT=… dce executor

It reads its identity from the environment a Mesos agent sets (MESOS_FRAMEWORK_ID,
MESOS_EXECUTOR_ID, MESOS_AGENT_ENDPOINT, MESOS_DIRECTORY/MESOS_SANDBOX, MESOS_CHECKPOINT…), talks
to the agent over the v1 HTTP executor API and to Docker over DOCKER_HOST (default
unix:///var/run/docker.sock). Each task's generated compose file, plan and identity are written
to pod/ in the sandbox, container output to logs/. To try a pod without Mesos, use `dce up`.

Exit status: 0 once every task has ended and its pod is gone; 1 when the agent was lost for good
or the shutdown grace period ran out with pods still being removed, or when it was not started
by a Mesos agent (incomplete MESOS_* environment).";

/// `dce render --help`.
pub const RENDER: &str = "\
Examples:
  dce render                                         # the compose file of the current directory
  dce render -f pod.yml -f pod.prod.yml --ports 31000-31010
  dce render -f pod.yml --config /etc/dce/config.yaml > generated.yml

The output is the compose file the executor would run (a valid file for `docker compose -f`),
with the reason for each rewrite as a comment. Nothing is started.

Exit status: 0 when the pod would be accepted; 1 with the executor's error message (the text a
TASK_FAILED would carry) when it would be refused.";

/// `dce pause --help`.
pub const PAUSE: &str = "\
This is the entrypoint of the pod's infra container (the image dce builds from its own binary);
it is not meant to be run by hand. It owns the pod's network namespace, sleeps until SIGTERM or
SIGINT (then exits 0), and reaps zombie processes as PID 1.";

/// `dce version --help`.
pub const VERSION: &str = "\
Example:
  dce version        # prints `dce <version>`; the same as `dce --version`";
