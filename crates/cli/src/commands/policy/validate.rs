//! `tessera policy validate FILE...`

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use tessera_policy::{Limits, PolicyKind, detect_kind, parse};

use super::{label, report_errors, report_warnings};
use crate::console::Console;
use crate::failure::{CommandResult, Failure};
use crate::input::Inputs;

/// Arguments of `tessera policy validate`.
#[derive(Debug, Args)]
#[command(
    about = "Check policy documents against the RAM policy grammar",
    long_about = "Check policy documents against the RAM policy grammar.\n\n\
        Every error of every file is reported on standard error as `FILE:LINE:COLUMN: CODE: \
        MESSAGE`, every warning (a valid but suspicious construct) as `FILE:LINE:COLUMN: \
        warning: CODE: MESSAGE`, and a file that cannot be read as `FILE: REASON`. Nothing is \
        written on standard output.\n\n\
        Exit status: 0 when every file is valid (even with warnings), 2 when any file is \
        invalid or unreadable."
)]
pub struct ValidateArgs {
    /// Policy documents to validate (`-` reads standard input)
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,

    /// What kind of document the files are: `auto` takes a document with a `Principal` in
    /// any statement for a trust policy, anything else for an identity policy
    #[arg(long, value_enum, default_value_t = KindArg::Auto)]
    pub kind: KindArg,

    /// Maximum document length in characters, instead of the limit of the kind (identity
    /// 6144, session 2048, trust 4096)
    #[arg(long, value_name = "N")]
    pub max_length: Option<usize>,
}

/// The `--kind` of the documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    /// Detect per file: trust policy if a statement has `Principal`, else identity policy
    Auto,
    /// A custom policy for users, groups and roles (`Resource` required)
    Identity,
    /// The session policy (`Policy`) of an AssumeRole request
    Session,
    /// A role's trust policy (`AssumeRolePolicyDocument`, `Principal` required)
    Trust,
}

impl KindArg {
    fn resolve(self, text: &str) -> PolicyKind {
        match self {
            KindArg::Auto => detect_kind(text),
            KindArg::Identity => PolicyKind::Identity,
            KindArg::Session => PolicyKind::Session,
            KindArg::Trust => PolicyKind::Trust,
        }
    }
}

pub fn run(args: &ValidateArgs, console: &mut Console<'_>) -> CommandResult {
    let limits = match args.max_length {
        Some(n) => Limits {
            identity_chars: n,
            session_chars: n,
            trust_chars: n,
        },
        None => Limits::default(),
    };
    let mut inputs = Inputs::new();
    let mut all_valid = true;
    for path in &args.files {
        let file = label(path);
        let text = match inputs.read(path) {
            Ok(text) => text,
            Err(reason) => {
                console.diagnostic(format_args!("{file}: {reason}"));
                all_valid = false;
                continue;
            }
        };
        match parse(&text, args.kind.resolve(&text), &limits) {
            Ok(parsed) => report_warnings(console, &file, &parsed),
            Err(errors) => {
                report_errors(console, &file, &errors);
                all_valid = false;
            }
        }
    }
    if all_valid {
        Ok(())
    } else {
        Err(Failure::Rejected)
    }
}
