//! The command handlers and the periodic work against real books at a manual clock's
//! `now`: the decisions that moved here from the HTTP handlers and the timers.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use sitewatch_core::alarms::{AlarmCommand, AlarmConfig, AlarmEngine, AlarmState, Transition};
use sitewatch_core::clock::{Clock, ManualClock};
use sitewatch_core::incidents::{
    HandoverBook, IncidentBook, IncidentSource, IncidentsConfig, KpiTargets, RequestBook,
    ServiceConfig,
};
use sitewatch_core::inspections::{
    ChecklistItem, Inspection, InspectionConfig, ItemResult, MeterReadings, VacantBook,
    VacantState, VacantUnit,
};
use sitewatch_core::patrol::{PatrolBook, PatrolConfig, PatrolEvent};
use sitewatch_core::points::{DeviceSpec, PointSpec, PointsHub, SourceEvent};

use super::commands::{self, Answer, EngineCommand, InspectionCmd, VacancyCmd};
use super::{Books, Compliance, FireTests, MeterReading, MonthKpis, Output, flow};
use crate::config::BillingConfig;
use crate::store::{FireTest, Record};

/// 10:00 on 25 November 2026 in Shanghai.
pub(super) fn clock() -> ManualClock {
    ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 25, 2, 0, 0)
            .single()
            .expect("time"),
    )
}

pub(super) fn books(patrol: PatrolConfig) -> Books {
    let mut rules = patrol.missed_rules();
    rules.sort_by(|a, b| a.id.cmp(&b.id));
    let alarm_categories = (rules.iter())
        .map(|r| (r.id.clone(), patrol.missed_category.clone()))
        .collect();
    Books {
        hub: PointsHub::new(Vec::new(), Vec::new()),
        patrol: PatrolBook::new(patrol).expect("patrol"),
        vacant: VacantBook::new(InspectionConfig::default(), VacantState::default())
            .expect("vacant"),
        incidents: IncidentBook::new(IncidentsConfig::default()).expect("incidents"),
        requests: RequestBook::new(ServiceConfig::default(), chrono_tz::Asia::Shanghai),
        handovers: HandoverBook::default(),
        alarms: AlarmEngine::new(rules, AlarmConfig::default()).expect("alarms"),
        alarm_categories,
        fire_tests: FireTests::default(),
        compliance: Compliance::new(Vec::new(), chrono_tz::Asia::Shanghai),
        maintenance: Default::default(),
        tz: chrono_tz::Asia::Shanghai,
        meters: MeterReading::new(
            BillingConfig::default(),
            chrono_tz::Asia::Shanghai,
            Vec::new(),
            BTreeMap::new(),
        ),
        estate: Default::default(),
        kpis: MonthKpis::new(KpiTargets::default(), chrono_tz::Asia::Shanghai),
    }
}

fn vacant(b: &mut Books, unit: &str, now: DateTime<Utc>) {
    let units = vec![VacantUnit {
        unit: unit.into(),
        vacant_since: now,
    }];
    let cmd = EngineCommand::Vacancy(VacancyCmd::Set(units));
    commands::handle(b, cmd, now).expect("vacancy");
}

fn inspection(unit: &str, failed: &[ChecklistItem]) -> Inspection {
    let items = ChecklistItem::ALL
        .into_iter()
        .map(|item| match failed.contains(&item) {
            true => ItemResult::fail(item, "found on the round"),
            false => ItemResult::pass(item),
        });
    Inspection {
        id: "i-1".into(),
        unit: unit.into(),
        inspector: "cs-li".into(),
        key_set: None,
        items: items.collect(),
        meters: MeterReadings::default(),
    }
}

#[test]
fn a_unit_becoming_vacant_gets_a_key_set_and_its_alarm_flag() {
    let now = clock().now();
    let mut b = books(PatrolConfig::default());
    let units = vec![VacantUnit {
        unit: "3-1201".into(),
        vacant_since: now,
    }];
    let cmd = EngineCommand::Vacancy(VacancyCmd::Set(units.clone()));
    let (answer, out) = commands::handle(&mut b, cmd, now).expect("vacancy");
    assert!(matches!(answer, Answer::Vacancy(ref changed) if changed == &["3-1201"]));
    assert!(
        b.vacant.keys().get("3-1201").is_some(),
        "a key set per vacant unit"
    );
    assert!(out.iter().any(|o| matches!(o, Output::Vacant(_))));
    let again = EngineCommand::Vacancy(VacancyCmd::Set(units));
    let (answer, _) = commands::handle(&mut b, again, now).expect("vacancy");
    assert!(
        matches!(answer, Answer::Vacancy(ref changed) if changed.is_empty()),
        "the same list changes nothing"
    );
}

/// rules.md §14 Meters: the demo's unit meter (`unit = "1-0302"`, no alarm rule written)
/// alarms on consumption once the register's vacant list names its unit, and goes quiet
/// when the unit is let again, all through the engine's vacancy command.
#[test]
fn a_unit_meter_alarms_on_consumption_while_its_unit_is_vacant_without_a_rule_of_its_own() {
    let clock = clock();
    let config = crate::config::Config::parse(
        std::path::Path::new("site.toml"),
        crate::config::DEMO_CONFIG,
        None,
    )
    .expect("demo config");
    let rules: Vec<_> = (config.alarm_rules.into_iter())
        .filter(|r| r.device == "em_1_0302")
        .collect();
    let mut b = books(PatrolConfig::default());
    b.alarms = AlarmEngine::new(rules, AlarmConfig::default()).expect("alarms");
    let point = PointSpec {
        id: "em_1_0302.import_energy".into(),
        device: "em_1_0302".into(),
        unit: "kWh".into(),
        stale_after: None,
        history_deadband: 0.0,
        history_heartbeat: Duration::minutes(5),
    };
    let device = DeviceSpec {
        id: "em_1_0302".into(),
        comm_loss_after: 3,
    };
    b.hub = PointsHub::new(vec![device], vec![point]);
    let read = |b: &mut Books, kwh: f64, now: DateTime<Utc>| {
        let polled = SourceEvent::Polled {
            device: "em_1_0302".into(),
            values: vec![("em_1_0302.import_energy".into(), kwh)],
        };
        let events = b.hub.handle(polled, now);
        flow::points(b, events, now);
    };
    let alarm = |b: &Books| {
        b.alarms
            .alarms()
            .find(|a| a.id == "em_1_0302.import_energy:vacant_consumption")
            .map(|a| a.active)
    };
    read(&mut b, 100.0, clock.now());
    clock.advance(Duration::minutes(5));
    read(&mut b, 100.5, clock.now());
    assert_eq!(alarm(&b), Some(false), "occupied: consumption is normal");
    vacant(&mut b, "1-0302", clock.now());
    clock.advance(Duration::minutes(5));
    read(&mut b, 100.5, clock.now());
    assert_eq!(alarm(&b), Some(false), "vacant and not moving");
    clock.advance(Duration::minutes(5));
    read(&mut b, 101.0, clock.now());
    assert_eq!(alarm(&b), Some(true), "vacant and consuming");
    let let_again = EngineCommand::Vacancy(VacancyCmd::Set(Vec::new()));
    commands::handle(&mut b, let_again, clock.now()).expect("vacancy");
    assert_eq!(alarm(&b), Some(false), "let again: the rule is off");
}

#[test]
fn each_category_of_failed_items_opens_one_incident_sourced_from_the_inspection() {
    let clock = clock();
    let mut b = books(PatrolConfig::default());
    vacant(&mut b, "3-1201", clock.now());
    clock.advance(Duration::days(7));
    let failed = [
        ChecklistItem::NoLeakDampMould,
        ChecklistItem::GasOff,
        ChecklistItem::PowerOff,
    ];
    let cmd = EngineCommand::Inspection(InspectionCmd::Submit(inspection("3-1201", &failed)));
    let (answer, _) = commands::handle(&mut b, cmd, clock.now()).expect("judged");
    let Answer::Inspection(verdict) = answer else {
        panic!("an inspection's answer: {answer:?}");
    };
    assert!(!verdict.passed);
    assert_eq!(
        verdict.incidents.len(),
        2,
        "a leak, and one fault for the rest"
    );
    let opened: Vec<(String, IncidentSource)> = (verdict.incidents.iter())
        .filter_map(|id| b.incidents.get(*id))
        .map(|i| (i.category.clone(), i.source.clone()))
        .collect();
    let source = IncidentSource::InspectionFinding("i-1".into());
    assert!(opened.contains(&("water_ingress".into(), source.clone())));
    assert!(opened.contains(&("fault".into(), source)));
}

#[test]
fn an_inspection_of_a_unit_not_vacant_is_refused_and_opens_nothing() {
    let now = clock().now();
    let mut b = books(PatrolConfig::default());
    let failed = [ChecklistItem::NoLeakDampMould];
    let cmd = EngineCommand::Inspection(InspectionCmd::Submit(inspection("9-9999", &failed)));
    let refused = commands::handle(&mut b, cmd, now);
    assert!(matches!(
        refused,
        Err(commands::CommandError::Inspection(_))
    ));
    assert!(b.incidents.open_incidents().is_empty());
}

fn night_route() -> PatrolConfig {
    let text = r#"
        [[checkpoints]]
        id = "lobby"
        tag_uid = "04A23B11"
        short_code = "lobby"
        name = "Lobby"
        building = "T1"
        floor = "1"

        [[routes]]
        id = "night"
        name = "Night round"
        checkpoints = [{ checkpoint = "lobby", offset_minutes = 0 }]
    "#;
    toml::from_str(text).expect("patrol config")
}

#[test]
fn a_missed_checkpoint_raises_its_routes_alarm_and_a_new_tour_clears_it() {
    let now = clock().now();
    let mut b = books(night_route());
    let missed = PatrolEvent::CheckpointMissed {
        tour: "night-1".into(),
        route: "night".into(),
        checkpoint: "lobby".into(),
        deadline: now,
    };
    let out = flow::patrol(&mut b, vec![missed], now);
    let raised = out.iter().find_map(|o| match o {
        Output::Alarm(ev) if ev.transition == Transition::Raised => Some(ev.as_ref()),
        _ => None,
    });
    let raised = raised.expect("the route's alarm raised");
    assert_eq!(raised.alarm, "patrol.night_missed:missed");
    assert_eq!(raised.device, "patrol", "a readable source, not a device");
    assert!(raised.message.contains("Night round"), "{}", raised.message);
    assert!(
        b.hub.devices().next().is_none(),
        "no patrol device in the hub"
    );
    assert!(
        b.alarms.alarm("patrol:comm").is_none(),
        "nor its comm-loss alarm"
    );
    let ack = AlarmCommand::Acknowledge {
        alarm: raised.alarm.clone(),
        actor: "duty".into(),
        note: None,
    };
    commands::handle(&mut b, EngineCommand::Alarm(ack), now).expect("acknowledged");
    let started = PatrolEvent::TourStarted {
        tour: "night-2".into(),
        route: "night".into(),
        guard: "g1".into(),
        at: now,
    };
    flow::patrol(&mut b, vec![started], now);
    let alarm = b.alarms.alarm("patrol.night_missed:missed").expect("alarm");
    assert_eq!(alarm.state, AlarmState::Normal, "cleared by the new tour");
}

#[test]
fn a_missed_checkpoint_crosses_into_the_incident_policy_at_its_own_priority() {
    let clock = clock();
    let mut b = books(night_route());
    let missed = PatrolEvent::CheckpointMissed {
        tour: "night-1".into(),
        route: "night".into(),
        checkpoint: "lobby".into(),
        deadline: clock.now(),
    };
    flow::patrol(&mut b, vec![missed], clock.now());
    // High and unacknowledged for 5 minutes: an incident of the configured category.
    clock.advance(Duration::minutes(5));
    let events = b.alarms.tick(clock.now());
    flow::alarms(&mut b, events, clock.now());
    b.incidents.tick(clock.now());
    let opened: Vec<&str> = (b.incidents.open_incidents().into_iter())
        .map(|i| i.category.as_str())
        .collect();
    assert_eq!(opened, ["patrol_finding"]);
}

fn fire_test(starts_at: DateTime<Utc>, ends_at: DateTime<Utc>) -> FireTest {
    FireTest {
        id: 7,
        notice: 3,
        devices: vec!["fire_panel".into()],
        starts_at,
        ends_at,
        created_by: "duty".into(),
        applied_at: None,
    }
}

#[test]
fn a_fire_test_is_put_in_place_once_when_its_window_begins() {
    let clock = clock();
    let mut b = books(PatrolConfig::default());
    let (from, to) = (
        clock.now() + Duration::minutes(10),
        clock.now() + Duration::hours(1),
    );
    b.fire_tests.plan(fire_test(from, to));
    let (events, records) = b.fire_tests.run_due(&mut b.alarms, clock.now());
    assert!(
        events.is_empty() && records.is_empty(),
        "not before its window"
    );
    clock.advance(Duration::minutes(10));
    let (_, records) = b.fire_tests.run_due(&mut b.alarms, clock.now());
    assert_eq!(
        records,
        [Record::FireTestApplied {
            id: 7,
            at: clock.now()
        }]
    );
    let windows = b.alarms.suppressions();
    assert_eq!(windows.len(), 1, "the panel suppressed");
    assert_eq!(windows[0].until, Some(to));
    clock.advance(Duration::seconds(1));
    let (_, records) = b.fire_tests.run_due(&mut b.alarms, clock.now());
    assert!(records.is_empty(), "once");
}

#[test]
fn a_fire_test_whose_window_passed_while_down_is_not_put_in_place() {
    let clock = clock();
    let mut b = books(PatrolConfig::default());
    let from = clock.now() - Duration::hours(2);
    b.fire_tests
        .plan(fire_test(from, from + Duration::hours(1)));
    let (_, records) = b.fire_tests.run_due(&mut b.alarms, clock.now());
    assert!(records.is_empty());
    assert!(b.alarms.suppressions().is_empty());
}

#[test]
fn commands_travel_as_json_and_come_back_the_same() {
    let cmd = EngineCommand::Alarm(AlarmCommand::Acknowledge {
        alarm: "pump1.fault:discrete".into(),
        actor: "duty".into(),
        note: Some("on my way".into()),
    });
    let text = serde_json::to_string(&cmd).expect("serialise");
    assert!(text.starts_with(r#"{"book":"alarm","command":"#), "{text}");
    let back: EngineCommand = serde_json::from_str(&text).expect("deserialise");
    assert_eq!(back, cmd);
}

fn meter_hub() -> PointsHub {
    let point = |id: &str, unit: &str| PointSpec {
        id: id.into(),
        device: "em_b1".into(),
        unit: unit.into(),
        stale_after: None,
        history_deadband: 0.0,
        history_heartbeat: Duration::minutes(5),
    };
    let device = DeviceSpec {
        id: "em_b1".into(),
        comm_loss_after: 3,
    };
    let points = vec![
        point("em_b1.import_energy", "kWh"),
        point("em_b1.voltage", "V"),
    ];
    PointsHub::new(vec![device], points)
}

fn poll(hub: &mut PointsHub, energy: f64, now: DateTime<Utc>) {
    let values = vec![
        ("em_b1.import_energy".into(), energy),
        ("em_b1.voltage".into(), 230.0),
    ];
    let polled = SourceEvent::Polled {
        device: "em_b1".into(),
        values,
    };
    hub.handle(polled, now);
}

fn meter_reading(taken: &[&str]) -> MeterReading {
    let units = BTreeMap::from([("em_b1".to_owned(), "B1".to_owned())]);
    let taken = taken.iter().map(|p| (*p).to_owned()).collect();
    MeterReading::new(
        BillingConfig::default(),
        chrono_tz::Asia::Shanghai,
        taken,
        units,
    )
}

#[test]
fn the_meters_are_read_once_at_the_cut_off_with_their_unit() {
    // 23:59 on the 20th in Shanghai; the cut-off is the end of the 20th (00:00 on the 21st).
    let clock = ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 20, 15, 59, 0)
            .single()
            .expect("time"),
    );
    let mut hub = meter_hub();
    poll(&mut hub, 12345.5, clock.now());
    let mut meters = meter_reading(&["2026-10"]);
    assert_eq!(
        meters.run_due(&hub, clock.now()),
        None,
        "not before the cut-off"
    );
    clock.advance(Duration::minutes(1));
    let Some(Record::MeterSnapshots(rows)) = meters.run_due(&hub, clock.now()) else {
        panic!("a snapshot at the cut-off");
    };
    let taken: Vec<(&str, Option<&str>, Option<f64>)> = (rows.iter())
        .map(|r| (r.point.as_str(), r.unit.as_deref(), r.value))
        .collect();
    assert_eq!(
        taken,
        [("em_b1.import_energy", Some("B1"), Some(12345.5))],
        "meters only"
    );
    assert_eq!(rows[0].period, "2026-11");
    clock.advance(Duration::hours(1));
    assert_eq!(meters.run_due(&hub, clock.now()), None, "once a period");
}

/// rules.md §13.10: a unit's meter with no reading at the cut-off is kept, flagged with
/// its unit, and counted for `/metrics`, not left out.
#[test]
fn a_unit_meter_with_no_reading_at_the_cut_off_is_flagged_not_left_out() {
    let cutoff = Utc
        .with_ymd_and_hms(2026, 11, 20, 16, 0, 0)
        .single()
        .expect("time");
    let device = |id: &str| DeviceSpec {
        id: id.into(),
        comm_loss_after: 3,
    };
    let point = |id: &str, device: &str| PointSpec {
        id: id.into(),
        device: device.into(),
        unit: "kWh".into(),
        stale_after: None,
        history_deadband: 0.0,
        history_heartbeat: Duration::minutes(5),
    };
    let mut hub = PointsHub::new(
        vec![device("em_b1"), device("em_b2")],
        vec![
            point("em_b1.import_energy", "em_b1"),
            point("em_b2.import_energy", "em_b2"),
        ],
    );
    let polled = SourceEvent::Polled {
        device: "em_b1".into(),
        values: vec![("em_b1.import_energy".into(), 12.5)],
    };
    hub.handle(polled, cutoff - Duration::minutes(5));
    let units = BTreeMap::from([
        ("em_b1".to_owned(), "B1".to_owned()),
        ("em_b2".to_owned(), "B2".to_owned()),
    ]);
    let long_ago = std::time::Instant::now()
        .checked_sub(std::time::Duration::from_secs(600))
        .expect("instant");
    let tz = chrono_tz::Asia::Shanghai;
    let mut meters =
        MeterReading::new(BillingConfig::default(), tz, Vec::new(), units).running_since(long_ago);
    let Some(Record::MeterSnapshots(rows)) = meters.run_due(&hub, cutoff) else {
        panic!("a snapshot at the cut-off");
    };
    let flags: Vec<(Option<&str>, Option<f64>, bool)> = (rows.iter())
        .map(|r| (r.unit.as_deref(), r.value, r.no_reading))
        .collect();
    assert_eq!(
        flags,
        [(Some("B1"), Some(12.5), false), (Some("B2"), None, true)]
    );
    assert_eq!(meters.unread(), 1);
    let csv = crate::billing::to_csv(&rows);
    assert!(
        csv.lines().nth(2).expect("row").ends_with(",no_reading"),
        "{csv}"
    );
}

#[test]
fn a_late_reading_waits_for_the_meters_first_values_just_after_start() {
    let clock = ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 21, 2, 0, 0)
            .single()
            .expect("time"),
    );
    let mut hub = meter_hub();
    let mut meters = meter_reading(&[]);
    assert_eq!(meters.run_due(&hub, clock.now()), None, "no reading yet");
    poll(&mut hub, 12400.0, clock.now());
    assert!(matches!(
        meters.run_due(&hub, clock.now()),
        Some(Record::MeterSnapshots(_))
    ));
}

#[test]
fn a_month_runs_from_local_midnight_to_the_next_months() {
    let (from, to) = super::month("2026-11", chrono_tz::Asia::Shanghai).expect("month");
    assert_eq!(from.to_rfc3339(), "2026-10-31T16:00:00+00:00");
    assert_eq!(to.to_rfc3339(), "2026-11-30T16:00:00+00:00");
    let (_, to) = super::month("2026-12", chrono_tz::Asia::Shanghai).expect("month");
    assert_eq!(to.to_rfc3339(), "2026-12-31T16:00:00+00:00");
    assert!(super::month("2026-13", chrono_tz::Asia::Shanghai).is_none());
    assert!(super::month("2026-1", chrono_tz::Asia::Shanghai).is_none());
}

fn pump_hub() -> PointsHub {
    let point = |id: &str| PointSpec {
        id: id.into(),
        device: "pumps".into(),
        unit: String::new(),
        stale_after: None,
        history_deadband: 0.0,
        history_heartbeat: Duration::minutes(5),
    };
    let device = DeviceSpec {
        id: "pumps".into(),
        comm_loss_after: 3,
    };
    PointsHub::new(vec![device], vec![point("p1.running"), point("p2.running")])
}

fn pumps_run(b: &mut Books, p1: f64, p2: f64, now: DateTime<Utc>) {
    let values = vec![("p1.running".into(), p1), ("p2.running".into(), p2)];
    let polled = SourceEvent::Polled {
        device: "pumps".into(),
        values,
    };
    b.hub.handle(polled, now);
}

#[test]
fn the_tick_reads_a_pump_pair_s_switch_over_from_its_run_points() {
    use sitewatch_core::maintenance::{MaintenanceEvent, PumpSet};
    // rules.md §13.13: the last switch-over per duty/standby pair, from the plant.
    let clock = clock();
    let mut b = books(PatrolConfig::default());
    b.hub = pump_hub();
    let set = |run_a: &str| PumpSet {
        id: "B1".into(),
        name: "B1 domestic water".into(),
        run_a: Some(run_a.into()),
        run_b: Some("p2.running".into()),
        last_switch_over: None,
        runner: None,
    };
    let cmd = |s| EngineCommand::Maintenance(commands::MaintenanceCmd::PutPumpSets(vec![s]));
    assert!(
        commands::handle(&mut b, cmd(set("nope.running")), clock.now()).is_err(),
        "a run point the hub does not hold"
    );
    commands::handle(&mut b, cmd(set("p1.running")), clock.now()).expect("pump set");
    pumps_run(&mut b, 1.0, 0.0, clock.now());
    flow::registers(&mut b, clock.now());
    clock.advance(Duration::days(3));
    pumps_run(&mut b, 0.0, 1.0, clock.now());
    let out = flow::registers(&mut b, clock.now());
    let switched = out.iter().any(|o| {
        matches!(o, Output::Maintenance(ev) if matches!(ev.as_ref(), MaintenanceEvent::SwitchedOver { by: None, .. }))
    });
    assert!(switched, "{out:?}");
    let shown = b
        .maintenance
        .pump_sets()
        .next()
        .and_then(|s| s.last_switch_over);
    assert_eq!(shown, Some(clock.now()));
}

#[test]
fn the_tick_raises_the_keys_alarm_two_hours_past_a_return_and_clears_it_on_sign_in() {
    use sitewatch_core::inspections::{KeyKind, KeySetEntry};
    // rules.md §13.23: a key out past its return is chased, then alarmed.
    let clock = clock();
    let mut b = books(PatrolConfig::default());
    b.alarms = AlarmEngine::new(
        vec![sitewatch_core::alarms::AlarmRule::keys_overdue()],
        AlarmConfig::default(),
    )
    .expect("alarms");
    let entry = KeySetEntry {
        id: "K-PR1".into(),
        kind: KeyKind::PlantRoom,
        label: "B1 pump room".into(),
        location: "A3".into(),
        keeper: "cs".into(),
        unit: None,
    };
    let put = EngineCommand::Inspection(InspectionCmd::PutKeys(vec![entry]));
    commands::handle(&mut b, put, clock.now()).expect("put");
    let out = EngineCommand::Inspection(InspectionCmd::SignOut {
        set: "K-PR1".into(),
        holder: "eng-zhao".into(),
        purpose: String::new(),
        expected_back: Some(clock.now() + Duration::hours(1)),
    });
    commands::handle(&mut b, out, clock.now()).expect("sign out");
    const ALARM: &str = "keys.key_return_overdue:overdue";
    let state = |b: &Books| b.alarms.alarm(ALARM).map(|a| a.state);
    clock.advance(Duration::hours(3));
    flow::registers(&mut b, clock.now());
    assert_ne!(
        state(&b),
        Some(AlarmState::UnackActive),
        "exactly two hours late"
    );
    clock.advance(Duration::seconds(1));
    flow::registers(&mut b, clock.now());
    assert_eq!(state(&b), Some(AlarmState::UnackActive));
    let back = EngineCommand::Inspection(InspectionCmd::SignIn {
        set: "K-PR1".into(),
        by: "eng-zhao".into(),
    });
    commands::handle(&mut b, back, clock.now()).expect("sign in");
    flow::registers(&mut b, clock.now());
    assert_eq!(state(&b), Some(AlarmState::UnackReturned));
}

/// An estate of one register meter serving `1-0101` on gateway `gw_1`.
fn estate_of_one() -> std::sync::Arc<crate::estate::Estate> {
    let text = "[site]\nid = \"x\"\nname = \"X\"\n\n[[gateways]]\nid = \"gw_1\"\naddress = \"10.0.0.9:502\"\n";
    let config =
        crate::config::Config::parse(std::path::Path::new("site.toml"), text, None).expect("valid");
    let estate = crate::estate::Estate::new(&config, crate::metrics::Registry::new());
    let meter = crate::register::meters::Meter {
        id: "e_1".into(),
        unit: "1-0101".into(),
        kind: crate::register::meters::MeterKind::Electricity,
        profile: "household_electricity".into(),
        gateway: "gw_1".into(),
        unit_id: 1,
        multiplier: 1.0,
    };
    assert!(estate.load(&[meter], &Default::default()).is_empty());
    std::sync::Arc::new(estate)
}

/// Meter `e_1` answers a read with `value`, as its gateway's sweep writes it.
fn read(estate: &crate::estate::Estate, value: f64) {
    let register = estate.register();
    let mut state = register.gateways[0].state();
    state[0].value = Some(value);
    state[0].reads += 1;
    if state[0].watched && state[0].unfed.is_none() {
        state[0].unfed = Some(value);
    }
}

#[test]
fn a_register_meter_read_moving_in_a_vacant_unit_raises_its_alarm_at_the_next_tick() {
    let now = clock().now();
    let estate = estate_of_one();
    let mut b = books(PatrolConfig::default());
    b.estate = super::EstateBook::new(estate.clone());
    b.estate.sync(&mut b.alarms);
    let alarm = "e_1.import_energy:vacant_consumption";
    assert_eq!(
        b.alarms.alarm(alarm).map(|a| a.state),
        Some(AlarmState::Normal)
    );
    read(&estate, 500.0);
    assert!(
        flow::estate(&mut b, now).is_empty(),
        "occupied: not watched"
    );
    vacant(&mut b, "1-0101", now);
    read(&estate, 500.0);
    assert!(flow::estate(&mut b, now).is_empty(), "steady");
    assert!(flow::estate(&mut b, now).is_empty(), "no new read");
    read(&estate, 500.5);
    let out = flow::estate(&mut b, now);
    assert_raised(&out, alarm);
    assert_eq!(
        b.alarms.alarm(alarm).map(|a| a.state),
        Some(AlarmState::UnackActive)
    );
}

#[test]
fn a_vacant_units_meter_that_moved_twice_between_ticks_is_judged_from_its_first_read() {
    let now = clock().now();
    let estate = estate_of_one();
    let mut b = books(PatrolConfig::default());
    b.estate = super::EstateBook::new(estate.clone());
    b.estate.sync(&mut b.alarms);
    vacant(&mut b, "1-0101", now);
    read(&estate, 500.0);
    read(&estate, 500.5);
    assert_raised(
        &flow::estate(&mut b, now),
        "e_1.import_energy:vacant_consumption",
    );
}

fn assert_raised(out: &[Output], alarm: &str) {
    assert!(
        out.iter()
            .any(|o| matches!(o, Output::Alarm(ev) if ev.alarm == alarm && ev.transition == Transition::Raised)),
        "{out:?}"
    );
}
