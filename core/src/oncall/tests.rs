//! Rota and flood decisions, with times in the site's zone.

use chrono::{Duration, NaiveDate};
use chrono_tz::Asia::Shanghai;

use super::rota::{OverrideKind, Place, local};
use super::*;

fn entry(level: &str, user: &str, shift: &str) -> RotaEntry {
    RotaEntry {
        level: level.into(),
        user: user.into(),
        shift: Some(shift.into()),
        hours: None,
        days: Vec::new(),
    }
}

fn date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 8).expect("date")
}

fn at(h: u32, m: u32) -> chrono::DateTime<chrono::Utc> {
    local(Shanghai, date(), h, m).expect("time")
}

fn full_day() -> Vec<RotaEntry> {
    vec![
        entry("duty_engineer", "wang", "day"),
        entry("duty_engineer", "li", "evening"),
        entry("duty_engineer", "zhao", "night"),
    ]
}

fn rota(entries: &[RotaEntry], overrides: &[RotaOverride]) -> Rota {
    let (rota, problems) = Rota::new(Shanghai, &ShiftTimes::default(), entries, overrides);
    assert!(problems.is_empty(), "{problems:?}");
    rota
}

#[test]
fn the_manuals_shifts_hand_over_at_their_ends_in_site_time() {
    let r = rota(&full_day(), &[]);
    assert_eq!(r.on_call("duty_engineer", at(8, 29)), ["zhao"]);
    assert_eq!(r.on_call("duty_engineer", at(8, 30)), ["wang"]);
    assert_eq!(r.on_call("duty_engineer", at(16, 29)), ["wang"]);
    assert_eq!(r.on_call("duty_engineer", at(16, 30)), ["li"]);
    assert_eq!(r.on_call("duty_engineer", at(23, 0)), ["zhao"]);
    assert!(r.check(&["duty_engineer".into()]).is_empty());
}

#[test]
fn coverage_names_who_comes_next_and_when() {
    let r = rota(&full_day(), &[]);
    let c = r.coverage("duty_engineer", at(15, 0));
    assert_eq!(c.now, ["wang"]);
    assert_eq!(c.next, ["li"]);
    assert_eq!(c.next_at, Some(at(16, 30)));
}

#[test]
fn a_gap_in_the_week_is_reported_with_its_times() {
    let entries = vec![
        entry("manager", "chen", "office"),
        entry("manager", "zhou", "night"),
    ];
    let (r, _) = Rota::new(Shanghai, &ShiftTimes::default(), &entries, &[]);
    let problems = r.check(&["manager".into()]);
    assert_eq!(problems.len(), 1, "one gap, every day: {problems:?}");
    assert_eq!(
        problems[0].reason,
        "level `manager` has nobody on call every day 17:30–22:00"
    );
    let weekdays: Vec<String> = ["mon", "tue", "wed", "thu", "fri"].map(String::from).into();
    let entries = vec![
        RotaEntry {
            days: weekdays,
            ..entry("manager", "chen", "office")
        },
        RotaEntry {
            shift: None,
            hours: Some("17:30-08:30".into()),
            ..entry("manager", "zhou", "")
        },
    ];
    let (r, _) = Rota::new(Shanghai, &ShiftTimes::default(), &entries, &[]);
    let problems = r.check(&["manager".into()]);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(
        problems[0].reason,
        "level `manager` has nobody on call Sat, Sun 08:30–17:30"
    );
}

#[test]
fn an_overlap_and_a_level_without_anyone_are_reported() {
    let mut entries = full_day();
    entries.push(entry("duty_engineer", "sun", "office"));
    let (r, _) = Rota::new(Shanghai, &ShiftTimes::default(), &entries, &[]);
    let problems = r.check(&["duty_engineer".into(), "shift_lead".into()]);
    assert!(
        problems.iter().any(|p| p.reason
            == "level `duty_engineer` has `sun` and `wang` on call at once every day 08:30–16:30"
            && p.place == Place::Entry(3)),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.place == Place::Level("shift_lead".into()))
    );
}

#[test]
fn overrides_swap_leave_and_cover_change_one_day_only() {
    let cover = RotaOverride {
        date: date(),
        level: "duty_engineer".into(),
        kind: OverrideKind::Leave,
        user: Some("sun".into()),
        replaces: Some("wang".into()),
        shift: None,
        hours: None,
    };
    let r = rota(&full_day(), std::slice::from_ref(&cover));
    assert_eq!(r.on_call("duty_engineer", at(9, 0)), ["sun"]);
    assert_eq!(r.on_call("duty_engineer", at(17, 0)), ["li"]);
    assert_eq!(
        r.on_call("duty_engineer", at(9, 0) + Duration::days(1)),
        ["wang"]
    );
    let nobody = RotaOverride {
        user: None,
        ..cover
    };
    let r = rota(&full_day(), &[nobody]);
    assert!(r.on_call("duty_engineer", at(9, 0)).is_empty());
    let problems = r.check(&[]);
    assert!(
        problems.iter().any(|p| p.place == Place::Override(0)
            && p.reason
                .contains("nobody on call 2026-12-08 08:30–2026-12-08 16:30")),
        "{problems:?}"
    );
}

#[test]
fn bad_entries_are_refused_with_a_reason() {
    let mut bad = entry("duty_engineer", "wang", "dawn");
    let (_, problems) = Rota::new(Shanghai, &ShiftTimes::default(), &[bad.clone()], &[]);
    assert!(problems[0].reason.contains("unknown shift `dawn`"));
    bad.shift = None;
    bad.hours = Some("8-16".into());
    let (_, problems) = Rota::new(Shanghai, &ShiftTimes::default(), &[bad], &[]);
    assert!(problems[0].reason.contains("08:30-16:30"));
}

fn policy() -> FloodPolicy {
    FloodPolicy {
        interval: Duration::minutes(5),
        per_hour: 4,
    }
}

#[test]
fn a_flood_gives_one_page_then_one_summary_per_interval() {
    let mut f = FloodState::default();
    let t = at(3, 0);
    let decisions: Vec<FloodDecision> = (0..200)
        .map(|i| f.decide(policy(), "wang", &format!("a{i}"), i % 50 == 7, t))
        .collect();
    let sent = decisions
        .iter()
        .filter(|d| **d == FloodDecision::Send)
        .count();
    assert_eq!(sent, 1 + 4, "the first page and every emergency");
    assert!(f.due(policy(), t + Duration::minutes(4)).is_empty());
    let due = f.due(policy(), t + Duration::minutes(5));
    assert_eq!(due.len(), 1);
    assert_eq!(
        (due[0].alarms, due[0].emergency, due[0].held),
        (200, 4, 195)
    );
    assert!(f.due(policy(), t + Duration::minutes(6)).is_empty());
    assert_eq!(
        f.decide(policy(), "wang", "a1", false, t + Duration::minutes(6)),
        FloodDecision::Summarise
    );
    assert_eq!(
        f.decide(policy(), "li", "a1", false, t + Duration::minutes(6)),
        FloodDecision::Send
    );
}

#[test]
fn the_rate_limit_holds_back_and_emergencies_pass() {
    let mut f = FloodState::default();
    let t = at(3, 0);
    for i in 0..4 {
        let now = t + Duration::minutes(6 * i);
        assert_eq!(
            f.decide(policy(), "wang", "a", false, now),
            FloodDecision::Send
        );
    }
    let now = t + Duration::minutes(30);
    assert_eq!(
        f.decide(policy(), "wang", "a", false, now),
        FloodDecision::RateLimited
    );
    assert_eq!(
        f.decide(policy(), "wang", "b", true, now),
        FloodDecision::Send
    );
    let later = t + Duration::minutes(70);
    assert_eq!(
        f.decide(policy(), "wang", "a", false, later),
        FloodDecision::Send
    );
}

#[test]
fn replaying_the_record_after_a_restart_decides_as_before() {
    let (mut before, t) = (FloodState::default(), at(3, 0));
    let mut record = Vec::new();
    for i in 0..40_i64 {
        let now = t + Duration::minutes(i * 2);
        let (alarm, emergency) = (format!("a{i}"), i % 9 == 4);
        for s in before.due(policy(), now) {
            record.push((s.person, Past::Summary, now));
        }
        let past = match before.decide(policy(), "wang", &alarm, emergency, now) {
            FloodDecision::Send => Past::Sent { alarm, emergency },
            FloodDecision::Summarise => Past::Summarised { alarm, emergency },
            FloodDecision::RateLimited => Past::Held { alarm },
        };
        record.push(("wang".to_owned(), past, now));
    }
    let mut after = FloodState::default();
    for (person, past, now) in record {
        after.replay(policy(), &person, past, now);
    }
    // The restart comes mid-interval: the same next decisions and the same summaries.
    for (i, minutes) in [81, 82, 86, 90, 150].into_iter().enumerate() {
        let now = t + Duration::minutes(minutes);
        assert_eq!(
            before.due(policy(), now),
            after.due(policy(), now),
            "{minutes}"
        );
        let alarm = format!("b{i}");
        assert_eq!(
            before.decide(policy(), "wang", &alarm, false, now),
            after.decide(policy(), "wang", &alarm, false, now),
            "{minutes}"
        );
    }
}
