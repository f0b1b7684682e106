//! Gate selectors (`policies.gates.require_human_approval_for`): what each one selects. The
//! checks report malformed and unknown ones; lowering asks which step a selector gates.

use super::{Role, Spec, Step, is_valid_id};

/// What a gate selector selects.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Selector<'a> {
    Deploy(&'a str),
    Agent(Role),
    Command,
    Approve,
    StepId(&'a str),
}

impl<'a> Selector<'a> {
    /// What a well-formed selector selects; `None` for a malformed one. Names are not checked
    /// here: `check::gates` reports unknown ones.
    pub fn parse(text: &'a str) -> Option<Selector<'a>> {
        match text.split_once('.') {
            None if text == "command" => Some(Selector::Command),
            None if text == "approve" => Some(Selector::Approve),
            None if is_valid_id(text) && !matches!(text, "deploy" | "agent") => {
                Some(Selector::StepId(text))
            }
            None => None,
            Some(("deploy", target)) if is_valid_id(target) => Some(Selector::Deploy(target)),
            Some(("agent", role)) => Role::parse(role).map(Selector::Agent),
            Some(_) => None,
        }
    }

    pub fn matches(&self, spec: &Spec, index: usize) -> bool {
        let step = &spec.steps[index].value;
        match (self, step) {
            (Selector::Deploy(t), Step::Deploy { target, .. }) => target.value == *t,
            (Selector::Agent(r), Step::Agent { role, .. }) => role.value == *r,
            (Selector::Command, Step::Command { .. }) => true,
            (Selector::Approve, Step::Approve { .. }) => true,
            (Selector::StepId(id), _) => spec.step_id(index) == *id,
            _ => false,
        }
    }
}
