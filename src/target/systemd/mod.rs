//! systemd: a workflow as a oneshot service that runs it on the host through `coder-step run`,
//! and a timer for its schedules. The units are a typed model laid out by an escaping writer,
//! so no spec or config string can end a line, add a directive or expand a specifier.

use super::GeneratedFile;
use super::output::header;
use crate::ir::{Trigger, Workflow};
use crate::protocol::{self, EXIT_WAITING, Invocation, env};
use crate::schedule::cron::{CronExpr, CronField, FieldKind, parse_cron};
use crate::workspace::config::SystemdConfig;

/// Where `coder-step` is installed unless `[systemd] coder-step` says otherwise.
pub const DEFAULT_CODER_STEP: &str = "/usr/local/bin/coder-step";
/// systemd's own default credential store (`LoadCredential=` searches it for relative paths).
pub const DEFAULT_CREDENTIALS_DIR: &str = "/etc/credstore";
/// The checkout is assumed under this folder unless `[systemd] working-directory` is set.
pub const DEFAULT_CHECKOUT_PARENT: &str = "/srv/coder";
/// The runner stops itself at the budget; systemd kills the unit this much later, so the
/// runner's own deadline (which records the run as failed) comes first.
const DEADLINE_GRACE_SEC: i64 = 60;

pub fn service_path(workflow_id: &str) -> String {
    format!("systemd/{}", unit_name(workflow_id))
}

/// The service's unit name, what `systemctl start` takes.
pub fn unit_name(workflow_id: &str) -> String {
    format!("coder-{workflow_id}.service")
}

pub fn timer_path(workflow_id: &str) -> String {
    format!("systemd/coder-{workflow_id}.timer")
}

/// The checkout the units run in: `[systemd] working-directory`, else
/// `/srv/coder/<repo>` (the repository's name, else the workflow's id).
pub fn working_directory(workflow: &Workflow, config: &SystemdConfig) -> String {
    match &config.working_directory {
        Some(dir) => dir.clone(),
        None => {
            let name = workflow
                .project
                .repo
                .as_deref()
                .filter(|repo| !repo.is_empty())
                .unwrap_or(&workflow.workflow_id);
            format!("{DEFAULT_CHECKOUT_PARENT}/{name}")
        }
    }
}

/// The folder of a workflow's runs, relative to systemd's state directory (`%S`: `/var/lib`
/// for system units, `~/.local/state` for user units): one per workflow, holding one
/// directory per run, so every firing of the timer starts a run of its own and a run held at
/// a gate is where the next `coder-step run` (after `coder approve`) finds it.
pub fn state_directory(workflow_id: &str) -> String {
    format!("coder/{workflow_id}")
}

/// What cannot be written into a unit: a line break or other control character would end
/// the directive (and start another).
pub fn unwritable(text: &str) -> Option<char> {
    text.chars().find(|c| c.is_control())
}

/// The service and, when the workflow has schedules, the timer.
pub fn emit_files(workflow: &Workflow, config: &SystemdConfig) -> Vec<GeneratedFile> {
    let mut files = vec![GeneratedFile {
        path: service_path(&workflow.workflow_id),
        contents: service(workflow, config).render(&workflow.source, &workflow.source_hash),
    }];
    if let Some(timer) = timer(workflow) {
        files.push(GeneratedFile {
            path: timer_path(&workflow.workflow_id),
            contents: timer.render(&workflow.source, &workflow.source_hash),
        });
    }
    files
}

/// A unit file: sections of directives, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Unit {
    pub sections: Vec<Section>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    pub name: &'static str,
    pub directives: Vec<(&'static str, UnitValue)>,
}

/// A directive's value, by how systemd reads it; the writer escapes each kind by its rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UnitValue {
    /// Free text on one line (`Description=`): specifiers expanded, no unquoting.
    Text(String),
    /// One path (`WorkingDirectory=`, a credential's path): specifiers expanded, no unquoting.
    Path(String),
    /// Space-separated paths (`ReadWritePaths=`): each word may be quoted.
    Paths(Vec<String>),
    /// A command line (`ExecStart=`): words quoted and C-escaped, `$` and `%` expanded.
    Command(Vec<String>),
    /// coder's own text that means its specifiers (`%S`, the state directory): only kept to
    /// one line. Never built from spec or config strings.
    WithSpecifiers(String),
}

impl Section {
    fn new(name: &'static str) -> Self {
        Section {
            name,
            directives: Vec::new(),
        }
    }

    fn text(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.directives.push((key, UnitValue::Text(value.into())));
        self
    }

    fn push(mut self, key: &'static str, value: UnitValue) -> Self {
        self.directives.push((key, value));
        self
    }
}

impl Unit {
    /// The unit file's text, starting with the generated-file header.
    pub fn render(&self, source: &str, source_hash: &str) -> String {
        let mut out = header(source, source_hash);
        for section in &self.sections {
            out.push('\n');
            out.push('[');
            out.push_str(section.name);
            out.push_str("]\n");
            for (key, value) in &section.directives {
                out.push_str(key);
                out.push('=');
                out.push_str(&value.render());
                out.push('\n');
            }
        }
        out
    }
}

impl UnitValue {
    pub fn render(&self) -> String {
        match self {
            UnitValue::Text(text) => escape_text(text),
            UnitValue::Path(path) => escape_specifiers(&one_line(path)),
            UnitValue::Paths(paths) => paths
                .iter()
                .map(|p| quote_word(p))
                .collect::<Vec<_>>()
                .join(" "),
            UnitValue::WithSpecifiers(text) => one_line(text),
            UnitValue::Command(words) => words
                .iter()
                .map(|w| quote_word(w).replace('$', "$$"))
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

/// Control characters cannot be in a unit line (checks report them first; this makes a line
/// break impossible even so).
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect()
}

/// `%` starts a specifier (systemd.unit(5) "Specifiers"); `%%` is a literal `%`.
fn escape_specifiers(text: &str) -> String {
    text.replace('%', "%%")
}

/// Free text as a whole value: one line, specifiers escaped, surrounding whitespace dropped
/// (systemd strips it anyway). A line ending in an odd number of backslashes would continue
/// on the next line (systemd.syntax(7)), so such a run gets one more.
pub fn escape_text(text: &str) -> String {
    let mut value = escape_specifiers(one_line(text).trim());
    let trailing = value.len() - value.trim_end_matches('\\').len();
    if trailing % 2 == 1 {
        value.push('\\');
    }
    value
}

/// One word of a command line or path list: bare when only safe characters, else in double
/// quotes with C escapes (systemd.service(5) "Command lines"), specifiers escaped either way.
fn quote_word(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./:=@+,".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        return word.to_string();
    }
    let mut out = String::with_capacity(word.len() + 2);
    out.push('"');
    for c in word.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '%' => out.push_str("%%"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let mut buf = [0u8; 4];
                for byte in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("\\x{byte:02x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The service: one `coder-step run` of the whole workflow in the checkout, sandboxed.
pub fn service(workflow: &Workflow, config: &SystemdConfig) -> Unit {
    let checkout = working_directory(workflow, config);
    let coder_step = config
        .coder_step
        .clone()
        .unwrap_or_else(|| DEFAULT_CODER_STEP.to_string());
    let credentials = config
        .credentials_dir
        .clone()
        .unwrap_or_else(|| DEFAULT_CREDENTIALS_DIR.to_string());
    let timeout = workflow.policies.max_wall_clock_sec + DEADLINE_GRACE_SEC;
    let unit = Section::new("Unit")
        .text("Description", &workflow.name)
        // Agents and deploys talk to the network.
        .text("Wants", "network-online.target")
        .text("After", "network-online.target");
    let mut service = Section::new("Service")
        .text("Type", "oneshot")
        .push(
            "ExecStart",
            UnitValue::Command(
                std::iter::once(coder_step)
                    .chain(protocol::coder_step_args(workflow, Invocation::Run))
                    .collect(),
            ),
        )
        .push("WorkingDirectory", UnitValue::Path(checkout.clone()))
        // A run waiting for an approval is held, not failed.
        .text("SuccessExitStatus", EXIT_WAITING.to_string())
        .text("TimeoutStartSec", timeout.to_string())
        .text("StateDirectory", state_directory(&workflow.workflow_id))
        .push(
            "Environment",
            // The workflow id is `[A-Za-z0-9][A-Za-z0-9_-]*`: nothing to escape.
            UnitValue::WithSpecifiers(format!(
                "{}=%S/{}",
                env::RUNS_DIR,
                state_directory(&workflow.workflow_id)
            )),
        );
    if let Some(user) = &config.user {
        service = service.text("User", user);
    }
    for secret in &workflow.policies.secrets {
        service = service.push(
            "LoadCredential",
            UnitValue::Path(format!("{secret}:{credentials}/{secret}")),
        );
    }
    let mut writable = vec![checkout];
    writable.extend(config.read_write_paths.iter().cloned());
    service = service
        .text("ProtectSystem", "strict")
        .push("ReadWritePaths", UnitValue::Paths(writable))
        .text("PrivateTmp", "yes")
        .text("NoNewPrivileges", "yes")
        .text("ProtectKernelTunables", "yes")
        .text("ProtectKernelModules", "yes");
    // A unit with a user of its own gets its cgroup delegated, so coder-step can start each
    // step in a cgroup of its own and kill it whole; that user can write nothing else of the
    // cgroup tree. A unit running as root keeps the tree read-only (root could write all of
    // it) and the runner's subreaper does the job.
    service = if config.user.is_some() {
        service.text("Delegate", "yes")
    } else {
        service.text("ProtectControlGroups", "yes")
    };
    service = service.text("RestrictSUIDSGID", "yes");
    Unit {
        sections: vec![unit, service],
    }
}

/// The timer of a workflow's schedules; `None` when it has none (started by hand only).
pub fn timer(workflow: &Workflow) -> Option<Unit> {
    let mut timer = Section::new("Timer");
    for trigger in &workflow.triggers {
        let Trigger::Cron { cron, timezone, .. } = trigger else {
            continue;
        };
        // Checked before emitting; an expression that does not parse has no schedule.
        let Ok(expr) = parse_cron(cron) else { continue };
        for line in on_calendar(&expr, timezone) {
            timer = timer.text("OnCalendar", line);
        }
    }
    if timer.directives.is_empty() {
        return None;
    }
    // Runs missed while the host was off happen at the next boot.
    timer = timer.text("Persistent", "true");
    Some(Unit {
        sections: vec![
            Section::new("Unit").text("Description", format!("Schedule of {}", workflow.name)),
            timer,
            Section::new("Install").text("WantedBy", "timers.target"),
        ],
    })
}

/// The `OnCalendar=` expressions of a cron read in `timezone`: one, or two when cron ORs the
/// day fields (systemd ANDs every component, so each day field gets a line of its own).
pub fn on_calendar(expr: &CronExpr, timezone: &str) -> Vec<String> {
    let field = |kind| expr.field(kind);
    let time = format!(
        "{}:{}:00",
        component(field(FieldKind::Hour)),
        component(field(FieldKind::Minute))
    );
    let month = component(field(FieldKind::Month));
    let line = |weekdays: Option<String>, day: &str| {
        let mut text = String::new();
        if let Some(weekdays) = weekdays {
            text.push_str(&weekdays);
            text.push(' ');
        }
        text.push_str(&format!("*-{month}-{day} {time} {timezone}"));
        text
    };
    let days = component(field(FieldKind::DayOfMonth));
    let weekdays = weekdays(field(FieldKind::DayOfWeek));
    if expr.days_are_ored() {
        vec![line(None, &days), line(weekdays, "*")]
    } else {
        vec![line(weekdays, &days)]
    }
}

/// A numeric calendar component: `*`, `a/n` (from a, every n, to the end), `a..b`,
/// `a..b/n`, or a list of values and ranges.
fn component(field: &CronField) -> String {
    let (min, max) = field.kind.bounds();
    let values: Vec<u8> = field.values().collect();
    if values.len() == usize::from(max - min + 1) {
        return "*".to_string();
    }
    if let [first, second, .., last] = values[..] {
        let step = second - first;
        if values.windows(2).all(|w| w[1] - w[0] == step) {
            return match step {
                1 => format!("{first:02}..{last:02}"),
                _ if u16::from(last) + u16::from(step) > u16::from(max) => {
                    format!("{first:02}/{step}")
                }
                _ => format!("{first:02}..{last:02}/{step}"),
            };
        }
    }
    runs(&values)
        .into_iter()
        .map(|(a, b)| match b - a {
            0 => format!("{a:02}"),
            1 => format!("{a:02},{b:02}"),
            _ => format!("{a:02}..{b:02}"),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Maximal runs of consecutive values, as (first, last).
fn runs(values: &[u8]) -> Vec<(u8, u8)> {
    let mut out: Vec<(u8, u8)> = Vec::new();
    for &v in values {
        match out.last_mut() {
            Some((_, last)) if *last + 1 == v => *last = v,
            _ => out.push((v, v)),
        }
    }
    out
}

const WEEKDAYS_FROM_MONDAY: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// The weekday component, `None` for every day. systemd's weeks start on Monday and its
/// ranges cannot wrap or step, so the days become Monday-first runs: cron `0-4` is
/// `Mon..Thu,Sun`, `*/2` is `Tue,Thu,Sat,Sun`.
fn weekdays(field: &CronField) -> Option<String> {
    let mut days: Vec<u8> = field.values().map(|d| (d + 6) % 7).collect();
    if days.len() == 7 {
        return None;
    }
    days.sort_unstable();
    let name = |d: u8| WEEKDAYS_FROM_MONDAY[usize::from(d)];
    let parts: Vec<String> = runs(&days)
        .into_iter()
        .map(|(a, b)| match b - a {
            0 => name(a).to_string(),
            1 => format!("{},{}", name(a), name(b)),
            _ => format!("{}..{}", name(a), name(b)),
        })
        .collect();
    Some(parts.join(","))
}

mod limits;

/// systemd: a oneshot service running `coder-step run`, and a timer for its schedules.
pub struct Systemd;

impl super::Target for Systemd {
    fn name(&self) -> &'static str {
        "systemd"
    }

    fn paths(&self, workflow_id: &str) -> Vec<String> {
        vec![service_path(workflow_id), timer_path(workflow_id)]
    }

    fn limits(
        &self,
        workflow: &Workflow,
        _config: &crate::workspace::Config,
    ) -> Vec<crate::diag::Diagnostic> {
        limits::limits(workflow)
    }

    fn emit(&self, workflow: &Workflow, config: &crate::workspace::Config) -> Vec<GeneratedFile> {
        emit_files(workflow, &config.systemd)
    }

    /// Where the units expect the checkout, and how to install them.
    fn notes(&self, workflow: &Workflow, config: &crate::workspace::Config) -> String {
        let config = &config.systemd;
        let id = &workflow.workflow_id;
        let mut out = format!(
            "\n`{id}` runs on a systemd host in {}{}; install the units with\n  \
             cp systemd/coder-{id}.* /etc/systemd/system/ && systemctl daemon-reload\n",
            working_directory(workflow, config),
            if config.working_directory.is_none() {
                " (the default: set `[systemd] working-directory` to the checkout)"
            } else {
                ""
            }
        );
        if timer(workflow).is_some() {
            out.push_str(&format!("  systemctl enable --now coder-{id}.timer\n"));
        } else {
            out.push_str(&format!(
                "  and start a run with `systemctl start coder-{id}.service`\n"
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calendar(cron: &str) -> Vec<String> {
        on_calendar(&parse_cron(cron).expect("valid"), "UTC")
            .into_iter()
            .map(|l| l.trim_end_matches(" UTC").to_string())
            .collect()
    }

    #[test]
    fn the_reference_table() {
        for (cron, expected) in [
            ("*/15 * * * *", vec!["*-*-* *:00/15:00"]),
            ("0 9 * * 1-5", vec!["Mon..Fri *-*-* 09:00:00"]),
            ("0 */2 * * *", vec!["*-*-* 00/2:00:00"]),
            ("5-59/15 * * * *", vec!["*-*-* *:05/15:00"]),
            ("20/15 * * * *", vec!["*-*-* *:20/15:00"]),
            ("0 8-18/2 * * *", vec!["*-*-* 08..18/2:00:00"]),
            ("0 0 1 */3 *", vec!["*-01/3-01 00:00:00"]),
            ("0 0 * JAN-MAR MON", vec!["Mon *-01..03-* 00:00:00"]),
            ("0 0 * * 7", vec!["Sun *-*-* 00:00:00"]),
            ("0 12 * * 0-4", vec!["Mon..Thu,Sun *-*-* 12:00:00"]),
            ("0 0 13 * 5", vec!["*-*-13 00:00:00", "Fri *-*-* 00:00:00"]),
            (
                "0 0 1-7 * 1",
                vec!["*-*-01..07 00:00:00", "Mon *-*-* 00:00:00"],
            ),
            ("0 0 */2 * 1", vec!["Mon *-*-01/2 00:00:00"]),
            ("0 0 1 * */2", vec!["Tue,Thu,Sat,Sun *-*-01 00:00:00"]),
            (
                "0 12 * * FRI-SAT,SUN-MON",
                vec!["Mon,Fri..Sun *-*-* 12:00:00"],
            ),
            ("0,30 9,17 * * *", vec!["*-*-* 09,17:00,30:00"]),
        ] {
            assert_eq!(calendar(cron), expected, "{cron}");
        }
    }

    #[test]
    fn values_that_could_break_a_line_cannot() {
        assert_eq!(escape_text(" a%b\nc\\ "), "a%%b\u{FFFD}c\\\\");
        assert_eq!(escape_text("x\\\\"), "x\\\\");
        assert_eq!(quote_word("a b\"%$\\"), "\"a b\\\"%%$\\\\\"");
        assert_eq!(
            UnitValue::Command(vec!["/bin/x".into(), "$HOME".into()]).render(),
            "/bin/x \"$$HOME\""
        );
    }
}
