//! Every SLA default breaches at exactly the right moment, and only once.

use super::*;

/// Ticks at `due` (no breach), one second later (breach of `sla`), then once more. Calls in
/// one test must come in order of due time, since each tick moves the book forward.
fn assert_breaches_once_at(book: &mut IncidentBook, sla: SlaKind, due: DateTime<Utc>) {
    assert!(
        !breaches(&book.tick(due)).contains(&sla),
        "{sla:?} breached at its due time"
    );
    let just_after = book.tick(due + Duration::seconds(1));
    assert!(
        breaches(&just_after).contains(&sla),
        "{sla:?} not breached after its due time"
    );
    assert!(
        !breaches(&book.tick(due + Duration::seconds(2))).contains(&sla),
        "{sla:?} breached twice"
    );
}

#[test]
fn accident_on_site_clock_breaches_just_after_three_minutes_and_only_once() {
    let mut book = book();
    open(&mut book, builtin::WATER_INGRESS);
    assert_breaches_once_at(&mut book, SlaKind::OnSite, t0() + mins(3));
    assert!(!breaches(&book.tick(t0() + Duration::days(30))).contains(&SlaKind::OnSite));
}

#[test]
fn arriving_on_site_in_time_meets_the_clock_and_never_breaches() {
    let mut book = book();
    let id = open(&mut book, builtin::FIRE);
    apply(&mut book, id, IncidentAction::ArriveOnSite, t0() + mins(3));
    assert!(!breaches(&book.tick(t0() + mins(60))).contains(&SlaKind::OnSite));
    let clock = book.get(id).unwrap().clock(SlaKind::OnSite).unwrap();
    assert_eq!(clock.met_at, Some(t0() + mins(3)));
    assert!(!clock.breached);
}

#[test]
fn incident_report_is_due_twelve_hours_after_occurrence_not_report() {
    let mut book = book();
    let new = NewIncident {
        occurred_at: Some(t0() - Duration::hours(1)),
        ..new_incident(builtin::GLASS_BREAKAGE)
    };
    book.open(new, t0()).unwrap();
    assert_breaches_once_at(
        &mut book,
        SlaKind::IncidentReport,
        t0() + Duration::hours(11),
    );
}

#[test]
fn insurer_is_due_twelve_hours_after_occurrence_by_default() {
    let mut book = book();
    open(&mut book, builtin::EQUIPMENT_DAMAGE);
    assert_breaches_once_at(
        &mut book,
        SlaKind::InsurerNotified,
        t0() + Duration::hours(12),
    );
}

#[test]
fn insurer_clock_can_count_from_resolution_instead() {
    let config = IncidentsConfig {
        insurer_anchor: SlaAnchor::Resolved,
        ..IncidentsConfig::default()
    };
    let mut book = IncidentBook::new(config).unwrap();
    let id = open(&mut book, builtin::WATER_INGRESS);
    assert!(
        book.get(id)
            .unwrap()
            .clock(SlaKind::InsurerNotified)
            .is_none()
    );
    apply(&mut book, id, IncidentAction::ArriveOnSite, t0() + mins(2));
    apply(
        &mut book,
        id,
        IncidentAction::FileIncidentReport,
        t0() + mins(90),
    );
    apply(
        &mut book,
        id,
        IncidentAction::Resolve,
        t0() + Duration::hours(2),
    );
    assert_breaches_once_at(
        &mut book,
        SlaKind::InsurerNotified,
        t0() + Duration::hours(14),
    );
}

#[test]
fn claim_notice_is_due_three_days_after_occurrence() {
    let mut book = book();
    open(&mut book, builtin::CUSTOMER_PROPERTY);
    assert_breaches_once_at(&mut book, SlaKind::ClaimNotice, t0() + Duration::days(3));
}

#[test]
fn theft_gets_a_police_clock_of_twenty_four_hours_and_water_ingress_does_not() {
    let mut book = book();
    open(&mut book, builtin::THEFT_ROBBERY);
    let water = open(&mut book, builtin::WATER_INGRESS);
    assert!(
        book.get(water)
            .unwrap()
            .clock(SlaKind::PoliceReport)
            .is_none()
    );
    assert_breaches_once_at(&mut book, SlaKind::PoliceReport, t0() + Duration::hours(24));
}

/// rules.md §13.1, §13.5, seed 004:117: Finance reports only the cash theft of finance
/// staff; every other theft or robbery is Security's, and both get the police clock.
#[test]
fn theft_goes_to_security_and_only_finance_staffs_cash_theft_to_finance() {
    let mut book = book();
    let theft = open(&mut book, builtin::THEFT_ROBBERY);
    let cash = open(&mut book, builtin::FINANCE_CASH_THEFT);
    let theft = book.get(theft).unwrap();
    let cash = book.get(cash).unwrap();
    assert_eq!(theft.department, Department::Security);
    assert_eq!(cash.department, Department::Finance);
    assert!(cash.accident && cash.clock(SlaKind::PoliceReport).is_some());
    let catalogue = CategoryConfig::default();
    let finance: Vec<&str> = catalogue
        .categories
        .iter()
        .filter(|c| c.department == Department::Finance)
        .map(|c| c.key.as_str())
        .collect();
    assert_eq!(finance, [builtin::FINANCE_CASH_THEFT]);
}

/// rules.md §13.1 and §14 "Fire alarm": the manuals' accidents, each with its department
/// (seed 004:105–117) and the 3-minute on-site clock (004:157); a power cut and a lift
/// entrapment are categories with no manual accident clocks (§13.1).
#[test]
fn the_manuals_accidents_carry_their_department_and_the_three_minute_clock() {
    use Department::{CustomerService, Engineering, Security};
    let accidents = [
        (builtin::WATER_INGRESS, CustomerService),
        (builtin::GLASS_BREAKAGE, CustomerService),
        (builtin::FIRE, CustomerService),
        (builtin::EQUIPMENT_DAMAGE, Engineering),
        (builtin::CUSTOMER_PROPERTY, CustomerService),
        (builtin::THEFT_ROBBERY, Security),
        (builtin::VEHICLE_DAMAGE, Security),
        (builtin::THIRD_PARTY, CustomerService),
    ];
    let mut book = book();
    for (key, department) in accidents {
        let id = open(&mut book, key);
        let incident = book.get(id).unwrap();
        assert!(incident.accident, "{key} is an insured accident");
        assert_eq!(incident.department, department, "{key}");
        let on_site = incident.clock(SlaKind::OnSite).unwrap();
        assert_eq!(on_site.due_at, t0() + mins(3), "{key}");
    }
    for key in [builtin::POWER_CUT, builtin::LIFT_ENTRAPMENT] {
        let id = open(&mut book, key);
        let incident = book.get(id).unwrap();
        assert!(!incident.accident, "{key} is not an insured accident");
        for sla in [
            SlaKind::IncidentReport,
            SlaKind::InsurerNotified,
            SlaKind::ClaimNotice,
        ] {
            assert!(incident.clock(sla).is_none(), "{key} has no {sla:?} clock");
        }
    }
}

#[test]
fn emergency_repair_is_on_site_in_fifteen_minutes_and_safe_in_two_hours() {
    let mut book = book();
    open(&mut book, builtin::LIFT_ENTRAPMENT);
    assert_breaches_once_at(&mut book, SlaKind::OnSite, t0() + mins(15));
    assert_breaches_once_at(&mut book, SlaKind::MadeSafe, t0() + Duration::hours(2));
}

#[test]
fn ordinary_repair_contacts_in_thirty_minutes_visits_in_a_day_and_finishes_in_three() {
    let mut book = book();
    open(&mut book, builtin::REPAIR);
    assert_breaches_once_at(&mut book, SlaKind::Acknowledged, t0() + mins(30));
    assert_breaches_once_at(&mut book, SlaKind::OnSite, t0() + Duration::hours(24));
    assert_breaches_once_at(&mut book, SlaKind::Resolved, t0() + Duration::days(3));
}

#[test]
fn repair_follow_up_is_due_one_working_day_after_completion_across_the_weekend() {
    let mut book = book();
    let id = open(&mut book, builtin::REPAIR);
    apply(&mut book, id, IncidentAction::Dispatch { to: None }, t0());
    // Completed Friday 2024-05-10 16:00 Shanghai; the follow-up is due Monday 16:00.
    let friday = t0() + Duration::days(1) + Duration::hours(6);
    apply(&mut book, id, IncidentAction::Resolve, friday);
    assert_breaches_once_at(&mut book, SlaKind::FollowUp, friday + Duration::days(3));
}

#[test]
fn complaint_resolution_counts_three_working_days_past_a_holiday() {
    let mut config = IncidentsConfig::default();
    config.calendar.holidays = vec![chrono::NaiveDate::from_ymd_opt(2024, 5, 13).unwrap()];
    let mut book = IncidentBook::new(config).unwrap();
    open(&mut book, builtin::COMPLAINT);
    assert_breaches_once_at(&mut book, SlaKind::Acknowledged, t0() + mins(30));
    assert_breaches_once_at(&mut book, SlaKind::Replied, t0() + Duration::hours(24));
    // Thu 10:00 + 3 working days, skipping Sat, Sun and the Monday holiday: Wed 10:00.
    assert_breaches_once_at(&mut book, SlaKind::Resolved, t0() + Duration::days(6));
}

#[test]
fn complaint_follow_up_is_due_two_working_days_after_resolution() {
    let mut book = book();
    let id = open(&mut book, builtin::COMPLAINT);
    apply(&mut book, id, IncidentAction::Dispatch { to: None }, t0());
    apply(&mut book, id, IncidentAction::Resolve, t0() + mins(60));
    // Resolved Thursday 11:00: due Monday 11:00.
    assert_breaches_once_at(
        &mut book,
        SlaKind::FollowUp,
        t0() + mins(60) + Duration::days(4),
    );
}

#[test]
fn a_late_step_that_no_tick_caught_reports_the_breach_once() {
    let mut book = book();
    let id = open(&mut book, builtin::FIRE);
    let events = apply(&mut book, id, IncidentAction::ArriveOnSite, t0() + mins(5));
    assert_eq!(breaches(&events), vec![SlaKind::OnSite]);
    assert!(events.iter().any(|e| e.kind
        == IncidentEventKind::SlaMet {
            sla: SlaKind::OnSite,
            late: true
        }));
    assert!(!breaches(&book.tick(t0() + mins(10))).contains(&SlaKind::OnSite));
    assert_eq!(book.figures().breaches.get(&SlaKind::OnSite), Some(&1));
}

#[test]
fn the_board_light_turns_amber_in_the_last_quarter_and_red_when_breached() {
    let mut book = book();
    let id = open(&mut book, builtin::POWER_CUT);
    let on_site = |book: &IncidentBook, at| {
        let clock = book
            .get(id)
            .unwrap()
            .clock(SlaKind::OnSite)
            .unwrap()
            .clone();
        (clock.status(at), clock.remaining(at))
    };
    assert_eq!(
        on_site(&book, t0() + mins(11)),
        (SlaStatus::Green, Some(mins(4)))
    );
    assert_eq!(on_site(&book, t0() + mins(12)).0, SlaStatus::Amber);
    book.tick(t0() + mins(16));
    assert_eq!(
        on_site(&book, t0() + mins(16)),
        (SlaStatus::Red, Some(mins(-1)))
    );
    apply(&mut book, id, IncidentAction::ArriveOnSite, t0() + mins(17));
    assert_eq!(on_site(&book, t0() + mins(17)), (SlaStatus::Red, None));
}

#[test]
fn a_clock_met_on_time_shows_met_and_leaves_the_board() {
    let mut book = book();
    let id = open(&mut book, builtin::FIRE);
    apply(&mut book, id, IncidentAction::ArriveOnSite, t0() + mins(1));
    let clock = book.get(id).unwrap().clock(SlaKind::OnSite).unwrap();
    assert_eq!(clock.status(t0() + mins(1)), SlaStatus::Met);
    assert!(
        book.board(t0() + mins(1))
            .iter()
            .all(|c| c.sla != SlaKind::OnSite)
    );
    assert!(
        book.board(t0() + mins(1))
            .iter()
            .any(|c| c.sla == SlaKind::InsurerNotified)
    );
}
