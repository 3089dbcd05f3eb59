//! Every subcommand's `--help` ends with examples or an explanation for a newcomer, and the
//! top-level help points at the documentation.

use std::process::Command;

fn help(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_dce"))
        .args(args)
        .arg("--help")
        .output()
        .unwrap();
    assert!(output.status.success(), "{args:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn every_subcommand_help_has_examples_or_an_explanation() {
    for command in ["up", "render", "reap", "executor", "version"] {
        let text = help(&[command]);
        assert!(
            text.contains("Example"),
            "`dce {command} --help` has no examples:\n{text}"
        );
    }
    assert!(help(&["pause"]).contains("infra container"));
    let top = help(&[]);
    assert!(
        top.contains("Examples:") && top.contains("docs/README.md"),
        "{top}"
    );
    for command in ["up", "render", "reap", "executor"] {
        assert!(help(&[command]).contains("Exit status"), "{command}");
    }
}
