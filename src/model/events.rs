//! The catalog of repository events (`targets/events.txt`), kept as data.

use std::sync::OnceLock;

const CATALOG: &str = include_str!("../../targets/events.txt");

/// One event and its actions (empty when the event has none).
#[derive(Debug)]
pub struct EventInfo {
    pub name: &'static str,
    pub actions: Vec<&'static str>,
}

pub fn catalog() -> &'static [EventInfo] {
    static EVENTS: OnceLock<Vec<EventInfo>> = OnceLock::new();
    EVENTS.get_or_init(|| {
        CATALOG
            .lines()
            .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
            .filter_map(|line| {
                let (name, actions) = line.split_once(':')?;
                Some(EventInfo {
                    name: name.trim(),
                    actions: actions.split_whitespace().collect(),
                })
            })
            .collect()
    })
}

pub fn find(name: &str) -> Option<&'static EventInfo> {
    catalog().iter().find(|e| e.name == name)
}

#[cfg(test)]
mod tests {
    #[test]
    fn catalog_has_the_common_events() {
        let pr = super::find("pull_request").expect("pull_request");
        assert!(pr.actions.contains(&"opened"));
        assert!(super::find("push").expect("push").actions.is_empty());
        assert!(super::catalog().len() > 25);
    }
}
