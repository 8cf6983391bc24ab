//! Commands in comments, parsed once into a typed [`Command`]: a line starting with `/`, outside
//! code blocks, block quotes and HTML (pulldown-cmark finds those), so quoting someone's
//! `/area mesh` or showing it in a code block does nothing.
//!
//! Each capability declares its commands' help ([`HelpEntry`]); `/gep help` is built from those.

use std::ops::Range;

use pulldown_cmark::{Event, Parser, Tag, TagEnd};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Command {
    AreaMesh,
    RemoveAreaMesh,
    GepStatus(Option<u64>),
    GepApprove,
    GepApproveCancel,
    GepConcern(String),
    GepResolve(String),
    GepHelp,
    /// `/gep nominate [REASON]`: the item on the next meeting's agenda (the reason may be empty).
    GepNominate(String),
    GepNominateCancel,
    /// `/gep` with a subcommand nobody knows: answered with the help.
    GepUnknown(String),
}

/// Each command's usage, written here once: the help, the refusals and the README's table take
/// it from here.
pub mod usage {
    pub const AREA_MESH: &str = "/area mesh";
    pub const REMOVE_AREA_MESH: &str = "/remove-area mesh";
    pub const GEP_STATUS: &str = "/gep status [N]";
    pub const GEP_APPROVE: &str = "/gep approve";
    pub const GEP_APPROVE_CANCEL: &str = "/gep approve cancel";
    pub const GEP_CONCERN: &str = "/gep concern NAME";
    pub const GEP_RESOLVE: &str = "/gep resolve NAME";
    pub const GEP_HELP: &str = "/gep help";
    pub const GEP_NOMINATE: &str = "/gep nominate [REASON]";
    pub const GEP_NOMINATE_CANCEL: &str = "/gep nominate cancel";
}

impl Command {
    /// The command without its arguments (`/gep concern`), from its usage.
    pub fn name(&self) -> String {
        self.usage()
            .split(' ')
            .take_while(|word| !word.starts_with('[') && word.to_lowercase() == *word)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// How the command is written, as the help gives it.
    pub fn usage(&self) -> &'static str {
        match self {
            Command::AreaMesh => usage::AREA_MESH,
            Command::RemoveAreaMesh => usage::REMOVE_AREA_MESH,
            Command::GepStatus(_) => usage::GEP_STATUS,
            Command::GepApprove => usage::GEP_APPROVE,
            Command::GepApproveCancel => usage::GEP_APPROVE_CANCEL,
            Command::GepConcern(_) => usage::GEP_CONCERN,
            Command::GepResolve(_) => usage::GEP_RESOLVE,
            Command::GepNominate(_) => usage::GEP_NOMINATE,
            Command::GepNominateCancel => usage::GEP_NOMINATE_CANCEL,
            Command::GepHelp | Command::GepUnknown(_) => usage::GEP_HELP,
        }
    }
}

/// One command's entry in the help: how to write it, what it does, who may use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HelpEntry {
    pub usage: &'static str,
    pub description: &'static str,
    pub who: &'static str,
}

/// Different commands taken from one comment; further different ones are ignored. A person
/// writes a handful; a comment of thousands (GitHub allows 65,536 characters, a forged payload
/// more) would otherwise become thousands of reads and replies.
pub const MAX_PER_COMMENT: usize = 20;

/// The commands in a comment, each once, in the order of its last appearance (so the last of
/// `/area mesh` and `/remove-area mesh` is the comment's last word); at most
/// [`MAX_PER_COMMENT`] different ones. Time is linear in the comment, memory bounded.
pub fn parse(markdown: &str) -> Vec<Command> {
    let excluded = excluded_ranges(markdown);
    let mut excluded = excluded.iter().peekable();
    // Each different command and the place it was last seen.
    let mut last_seen: std::collections::HashMap<Command, usize> = Default::default();
    let mut offset = 0;
    for line in markdown.split_inclusive('\n') {
        // Where the line's text starts: an indented code block's range starts after its indent.
        let start = offset + (line.len() - line.trim_start().len());
        offset += line.len();
        // Lines come in order and the ranges are sorted and disjoint: one pass over both.
        while excluded.next_if(|r| r.end <= start).is_some() {}
        if excluded.peek().is_some_and(|r| r.contains(&start)) {
            continue;
        }
        if let Some(command) = parse_line(line.trim()) {
            let place = offset;
            if let Some(seen) = last_seen.get_mut(&command) {
                *seen = place;
            } else if last_seen.len() < MAX_PER_COMMENT {
                last_seen.insert(command, place);
            }
        }
    }
    let mut commands: Vec<(Command, usize)> = last_seen.into_iter().collect();
    commands.sort_by_key(|(_, place)| *place);
    commands.into_iter().map(|(command, _)| command).collect()
}

/// The commands an edit adds: those in `body` that `previous` did not have.
pub fn added(body: &str, previous: Option<&str>) -> Vec<Command> {
    let before = previous.map(parse).unwrap_or_default();
    parse(body)
        .into_iter()
        .filter(|c| !before.contains(c))
        .collect()
}

fn parse_line(line: &str) -> Option<Command> {
    let rest = line.strip_prefix('/')?;
    let mut words = rest.split_whitespace();
    let name = words.next()?;
    let args: Vec<&str> = words.collect();
    match (name, args.as_slice()) {
        ("area", ["mesh"]) => Some(Command::AreaMesh),
        ("remove-area", ["mesh"]) => Some(Command::RemoveAreaMesh),
        ("gep", []) | ("gep", ["help", ..]) => Some(Command::GepHelp),
        ("gep", ["status"]) => Some(Command::GepStatus(None)),
        ("gep", ["status", n]) => Some(match n.trim_start_matches('#').parse() {
            Ok(n) => Command::GepStatus(Some(n)),
            Err(_) => Command::GepUnknown(format!("status {n}")),
        }),
        ("gep", ["approve"]) => Some(Command::GepApprove),
        ("gep", ["approve", "cancel"]) => Some(Command::GepApproveCancel),
        ("gep", ["concern", name @ ..]) if !name.is_empty() => {
            Some(Command::GepConcern(name.join(" ")))
        }
        ("gep", ["resolve", name @ ..]) if !name.is_empty() => {
            Some(Command::GepResolve(name.join(" ")))
        }
        ("gep", ["nominate", "cancel"]) => Some(Command::GepNominateCancel),
        ("gep", ["nominate", reason @ ..]) => Some(Command::GepNominate(reason.join(" "))),
        ("gep", other) => Some(Command::GepUnknown(other.join(" "))),
        _ => None,
    }
}

/// Byte ranges of code blocks, block quotes and HTML blocks, where commands do not count:
/// sorted and disjoint (a block inside another is inside its range already).
fn excluded_ranges(markdown: &str) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    for (event, range) in Parser::new(markdown).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(_) | Tag::BlockQuote(_) | Tag::HtmlBlock) => {
                open.push(range.start)
            }
            Event::End(TagEnd::CodeBlock | TagEnd::BlockQuote(_) | TagEnd::HtmlBlock) => {
                // Only the outermost block's range is kept; inner ones end first and lie in it.
                if let Some(start) = open.pop()
                    && open.is_empty()
                {
                    ranges.push(start..range.end);
                }
            }
            _ => {}
        }
    }
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_lines_starting_with_a_slash() {
        let body = "Thanks!\n/area mesh\n  /gep status 1686\n/gep concern naming of fields\nnot /area mesh\n";
        assert_eq!(
            parse(body),
            [
                Command::AreaMesh,
                Command::GepStatus(Some(1686)),
                Command::GepConcern("naming of fields".into())
            ]
        );
    }

    #[test]
    fn a_comment_of_ten_thousand_commands_yields_the_first_twenty() {
        let same = "/gep status\n\n> /gep approve\n\n".repeat(5000);
        assert!(same.len() > 100_000);
        assert_eq!(parse(&same), [Command::GepStatus(None)]);
        let different: String = (0..10_000)
            .map(|i| format!("/gep concern c{i}\n"))
            .collect();
        let commands = parse(&different);
        assert_eq!(commands.len(), MAX_PER_COMMENT);
        assert_eq!(commands[0], Command::GepConcern("c0".into()));
        // Nested blocks: a code block in a quote is skipped with the quote.
        let nested = "> ```\n> /area mesh\n> ```\n> /remove-area mesh\n\n/gep\n";
        assert_eq!(parse(nested), [Command::GepHelp]);
    }

    #[test]
    fn commands_in_code_blocks_and_quotes_do_not_count() {
        let body =
            "```\n/area mesh\n```\n\n> /remove-area mesh\n\n    /gep approve\n\n`/gep approve`\n";
        assert_eq!(parse(body), []);
    }

    #[test]
    fn unknown_gep_subcommands_are_kept_for_the_help_reply() {
        assert_eq!(
            parse("/gep aprove\n"),
            [Command::GepUnknown("aprove".into())]
        );
        assert_eq!(parse("/gep\n"), [Command::GepHelp]);
        assert_eq!(parse("/gep approve cancel\n"), [Command::GepApproveCancel]);
        assert_eq!(Command::GepApproveCancel.name(), "/gep approve cancel");
        assert_eq!(Command::GepConcern("x".into()).name(), "/gep concern");
        assert_eq!(Command::GepStatus(None).name(), "/gep status");
        assert_eq!(parse("/lgtm\n"), []);
        assert_eq!(
            parse("/gep nominate  the  retry budget\n/gep nominate\n/gep nominate cancel\n"),
            [
                Command::GepNominate("the retry budget".into()),
                Command::GepNominate(String::new()),
                Command::GepNominateCancel
            ]
        );
        assert_eq!(Command::GepNominate("x".into()).name(), "/gep nominate");
        assert_eq!(Command::GepNominateCancel.name(), "/gep nominate cancel");
    }

    #[test]
    fn an_edit_runs_only_the_commands_it_adds() {
        assert_eq!(
            added("/area mesh\n/gep approve\n", Some("/area mesh\n")),
            [Command::GepApprove]
        );
        assert_eq!(added("/area mesh\n", None), [Command::AreaMesh]);
    }
}
