//! Shell completions and the man page, generated from the clap definitions
//! so that they always match the parser. Packagers call the hidden
//! `completions <shell>` and `man` commands at build time.

use std::io::Write;

use clap::CommandFactory;

use crate::cli::{Cli, Command};
use crate::ExitStatus;

/// Writes the completion script or man page when the command line requests
/// one and returns the exit status. Returns None for every other command.
pub fn run(cli: &Cli) -> Option<ExitStatus> {
    let mut stdout = std::io::stdout().lock();
    let result = match cli.command {
        Command::Completions { shell } => write_completions(shell, &mut stdout),
        Command::Man => write_man(&mut stdout),
        _ => return None,
    };

    match result.and_then(|()| stdout.flush()) {
        Ok(()) => Some(ExitStatus::Success),
        Err(err) => {
            tracing::error!(error = %err, "writing the generated output failed");
            Some(ExitStatus::Failed)
        }
    }
}

/// Writes the completion script for `shell`.
pub fn write_completions(shell: clap_complete::Shell, out: &mut dyn Write) -> std::io::Result<()> {
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "tgw-vip", out);
    Ok(())
}

/// Writes the man page in roff.
pub fn write_man(out: &mut dyn Write) -> std::io::Result<()> {
    clap_mangen::Man::new(Cli::command()).render(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completions_name_every_command() {
        let mut out = Vec::new();
        write_completions(clap_complete::Shell::Bash, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("iam-policy"), "{text}");
        assert!(text.contains("monitor"), "{text}");
    }

    #[test]
    fn man_page_has_name_section() {
        let mut out = Vec::new();
        write_man(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains(".SH NAME"), "{text}");
        assert!(text.contains("tgw\\-vip"), "{text}");
    }
}
