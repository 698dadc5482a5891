//! Service KPIs over a constructed period with known numbers.

use super::*;

fn repair(id: RequestId, at: DateTime<Utc>) -> ServiceRequest {
    let new = NewRequest {
        kind: RequestKind::Repair { emergency: false },
        channel: Channel::Phone,
        unit: "A-1203".to_owned(),
        owner: None,
        summary: "tap leaking".to_owned(),
        received_by: "desk".to_owned(),
        assigned_to: None,
        unit_cs_person: None,
    };
    let config = ServiceConfig::default();
    ServiceRequest::new(id, new, &config, on(&WorkingCalendar::default()), at).0
}

fn act(r: &mut ServiceRequest, action: RequestAction, at: DateTime<Utc>) {
    r.apply(
        RequestCommand::new("desk", action),
        on(&WorkingCalendar::default()),
        at,
    )
    .unwrap();
}

fn complete(r: &mut ServiceRequest, at: DateTime<Utc>) {
    let tech = RequestAction::Dispatch {
        technician: "zhang".to_owned(),
    };
    act(r, tech, at - mins(5));
    let report = RequestAction::Complete {
        report: "done, site cleaned".to_owned(),
    };
    act(r, report, at);
}

fn follow_up(r: &mut ServiceRequest, satisfied: bool, at: DateTime<Utc>) {
    let call = RequestAction::FollowUp {
        method: FollowUpMethod::Phone,
        outcome: "ok".to_owned(),
        satisfied,
    };
    act(r, call, at);
}

fn kpi<'a>(kpis: &'a [Kpi], name: &str) -> &'a Kpi {
    kpis.iter().find(|k| k.name == name).unwrap()
}

/// Ten repairs: nine contacted within 30 minutes, one late; eight done within three days,
/// two after; five followed up, four of them satisfied.
fn month() -> Vec<ServiceRequest> {
    let mut all = Vec::new();
    for i in 0..10 {
        let mut r = repair(i, t0());
        let contacted = if i == 9 { mins(45) } else { mins(20) };
        act(&mut r, RequestAction::Acknowledge, t0() + contacted);
        let done = if i < 8 {
            Duration::hours(5)
        } else {
            Duration::days(4)
        };
        complete(&mut r, t0() + done);
        if i < 5 {
            follow_up(&mut r, i != 0, t0() + done + Duration::hours(2));
        }
        all.push(r);
    }
    all
}

#[test]
fn kpis_of_a_month_are_exact_counts_over_counts() {
    let from = t0() - Duration::days(1);
    let to = t0() + Duration::days(20);
    let kpis = service_kpis(&month(), from, to, &KpiTargets::default());
    let repairs = kpi(&kpis, "repairs_in_time");
    assert_eq!((repairs.count, repairs.of), (8, 10));
    assert_eq!(repairs.ratio, Some(0.8));
    assert_eq!(repairs.met, Some(false));
    let follow = kpi(&kpis, "follow_up_rate");
    assert_eq!((follow.count, follow.of, follow.ratio), (5, 10, Some(0.5)));
    let satisfied = kpi(&kpis, "satisfaction");
    assert_eq!(
        (satisfied.count, satisfied.of, satisfied.ratio),
        (4, 5, Some(0.8))
    );
    let responses = kpi(&kpis, "responses_in_time");
    assert_eq!(
        (responses.count, responses.of, responses.ratio),
        (9, 10, Some(0.9))
    );
}

#[test]
fn work_outside_the_period_does_not_count_and_an_empty_period_has_no_ratio() {
    let from = t0() + Duration::days(30);
    let kpis = service_kpis(
        &month(),
        from,
        from + Duration::days(30),
        &KpiTargets::default(),
    );
    for k in &kpis {
        assert_eq!((k.of, k.ratio, k.met), (0, None, None), "{}", k.name);
    }
}

#[test]
fn targets_come_from_the_config() {
    let targets = KpiTargets {
        repairs_in_time: 0.8,
        ..KpiTargets::default()
    };
    let kpis = service_kpis(
        &month(),
        t0() - Duration::days(1),
        t0() + Duration::days(20),
        &targets,
    );
    assert_eq!(kpi(&kpis, "repairs_in_time").met, Some(true));
    assert_eq!(kpi(&kpis, "satisfaction").target, 0.95);
}
