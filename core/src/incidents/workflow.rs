//! The incident state machine: opening, the transitions reported → dispatched → on site →
//! resolved → followed up → closed (or cancelled from any open state), the milestone steps
//! that meet clocks, and the tick that breaches them. Every change lands on the timeline.

use chrono::{DateTime, Utc};

use super::IncidentError;
use super::attachments::{Attachment, NewAttachment};
use super::calendar::WorkingCalendar;
use super::category::CategorySpec;
use super::claims::{BEFORE_RESOLVE, EVIDENCE, Recorded, allowed_after_close};
use super::event::{
    IncidentAction, IncidentCommand, IncidentEvent, IncidentEventKind as Kind, SYSTEM_ACTOR,
};
use super::incident::{Incident, IncidentId, IncidentState as State, NewIncident};
use super::sla::{SlaAnchor, SlaClock, SlaKind, SlaRule};

impl Incident {
    /// A new incident in `reported`, with its clocks started from `rules`.
    pub(crate) fn open(
        id: IncidentId,
        new: NewIncident,
        spec: &CategorySpec,
        rules: &[SlaRule],
        calendar: &WorkingCalendar,
        now: DateTime<Utc>,
    ) -> (Self, Vec<IncidentEvent>) {
        let mut incident = Self {
            id,
            category: spec.key.clone(),
            department: spec.department,
            accident: spec.accident,
            title: new.title,
            location: new.location,
            source: new.source.clone(),
            state: State::Reported,
            reported_at: now,
            occurred_at: new.occurred_at.unwrap_or(now),
            clocks: Vec::new(),
            pending_clocks: Vec::new(),
            timeline: Vec::new(),
            attachments: Vec::new(),
            claim: Default::default(),
            households: Vec::new(),
            alarm_trips: Vec::new(),
            cancel_reason: None,
            evidence_waiver: None,
        };
        let mut step = Step::new(&mut incident, now, new.reported_by, String::new());
        step.emit(Kind::Opened {
            category: spec.key.clone(),
            source: new.source,
        });
        step.start_clocks(rules, calendar);
        let events = step.out;
        (incident, events)
    }

    /// Applies `cmd` at `now`. A refused command changes nothing.
    pub(crate) fn apply(
        &mut self,
        cmd: IncidentCommand,
        calendar: &WorkingCalendar,
        now: DateTime<Utc>,
    ) -> Result<Vec<IncidentEvent>, IncidentError> {
        let late_evidence = self.state == State::Closed && allowed_after_close(&cmd.action);
        if !self.state.is_open() && !late_evidence {
            return Err(IncidentError::NotOpen {
                id: self.id,
                state: self.state,
            });
        }
        let IncidentCommand {
            actor,
            note,
            action,
        } = cmd;
        let mut step = Step::new(self, now, actor, note);
        step.run(action, calendar)?;
        Ok(step.out)
    }

    /// Raises an open fault to the accident `spec` (issue 22 item 2): category, department
    /// and the accident's clocks. The on-site clock counts from now (rules.md §13.2: "from
    /// when it is reported or raised") unless someone is already there; the report,
    /// insurer and claim clocks count from occurrence (§13.3–4).
    pub(crate) fn raise(
        &mut self,
        cmd: IncidentCommand,
        spec: &CategorySpec,
        rules: &[SlaRule],
        calendar: &WorkingCalendar,
        now: DateTime<Utc>,
    ) -> Result<Vec<IncidentEvent>, IncidentError> {
        if !self.state.is_open() {
            return Err(IncidentError::NotOpen {
                id: self.id,
                state: self.state,
            });
        }
        if self.accident {
            return Err(IncidentError::InvalidTransition {
                from: self.state,
                action: "raise to an accident",
            });
        }
        let from = std::mem::replace(&mut self.category, spec.key.clone());
        self.department = spec.department;
        self.accident = true;
        let mut step = Step::new(self, now, cmd.actor, cmd.note);
        step.emit(Kind::RaisedToAccident {
            from,
            to: spec.key.clone(),
        });
        for rule in rules {
            step.raise_clock(rule, calendar);
        }
        Ok(step.out)
    }

    /// Breaches every clock past due at `now`; each breach is reported once. A cancelled
    /// incident's clocks stop; a closed one's evidence clocks still count (a manager may
    /// close an accident with them open, but that does not make them met).
    pub(crate) fn tick(&mut self, now: DateTime<Utc>) -> Vec<IncidentEvent> {
        let only_evidence = match self.state {
            State::Cancelled => return Vec::new(),
            State::Closed => true,
            _ => false,
        };
        let breached: Vec<_> = self
            .clocks
            .iter_mut()
            .filter(|c| !only_evidence || EVIDENCE.contains(&c.sla))
            .filter_map(|c| c.tick(now).then_some((c.sla, c.due_at)))
            .collect();
        let mut step = Step::new(self, now, SYSTEM_ACTOR.to_owned(), String::new());
        for (sla, due_at) in breached {
            step.emit(Kind::SlaBreached { sla, due_at });
        }
        step.out
    }

    /// Records another trip of an alarm; returns `None` when that trip is already on file.
    pub(crate) fn attach_alarm(
        &mut self,
        alarm_id: &str,
        raised_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Option<IncidentEvent> {
        let known = self
            .alarm_trips
            .iter()
            .any(|t| t.alarm_id == alarm_id && t.raised_at == raised_at);
        if known {
            return None;
        }
        self.alarm_trips.push(super::incident::AlarmTrip {
            alarm_id: alarm_id.to_owned(),
            raised_at,
        });
        let mut step = Step::new(self, now, SYSTEM_ACTOR.to_owned(), String::new());
        step.emit(Kind::AlarmAttached {
            alarm_id: alarm_id.to_owned(),
            raised_at,
        });
        step.out.pop()
    }
}

/// One command being applied: the incident, who, when, and the events so far.
pub(super) struct Step<'a> {
    pub(super) incident: &'a mut Incident,
    pub(super) now: DateTime<Utc>,
    pub(super) actor: String,
    pub(super) note: String,
    pub(super) out: Vec<IncidentEvent>,
}

impl<'a> Step<'a> {
    fn new(incident: &'a mut Incident, now: DateTime<Utc>, actor: String, note: String) -> Self {
        Self {
            incident,
            now,
            actor,
            note,
            out: Vec::new(),
        }
    }

    pub(super) fn emit(&mut self, kind: Kind) {
        let event = IncidentEvent {
            incident: self.incident.id,
            at: self.now,
            actor: self.actor.clone(),
            note: self.note.clone(),
            kind,
        };
        self.incident.timeline.push(event.clone());
        self.out.push(event);
    }

    pub(super) fn recorded(&self) -> Recorded {
        Recorded {
            at: self.now,
            by: self.actor.clone(),
        }
    }

    fn run(
        &mut self,
        action: IncidentAction,
        calendar: &WorkingCalendar,
    ) -> Result<(), IncidentError> {
        use IncidentAction as A;
        match action {
            A::Dispatch { to } => {
                self.move_to(
                    &[State::Reported],
                    State::Dispatched,
                    "dispatch",
                    &[SlaKind::Acknowledged],
                )?;
                if let Some(to) = to.filter(|t| !t.trim().is_empty()) {
                    self.emit(Kind::Dispatched { to });
                }
                Ok(())
            }
            A::ArriveOnSite => {
                let from = [State::Reported, State::Dispatched];
                self.move_to(
                    &from,
                    State::OnSite,
                    "arrive on site",
                    &[SlaKind::OnSite, SlaKind::Acknowledged],
                )
            }
            A::MakeSafe => self.make_safe(),
            A::Resolve => self.resolve(calendar),
            A::FollowUp => self.move_to(
                &[State::Resolved],
                State::FollowedUp,
                "follow up",
                &[SlaKind::FollowUp],
            ),
            A::Close => {
                if self.incident.state == State::FollowedUp {
                    self.incident.check_evidence(EVIDENCE, "close")?;
                }
                self.move_to(&[State::FollowedUp], State::Closed, "close", &[])
            }
            A::WaiveEvidence { reason } => self.waive_evidence(reason),
            A::Cancel { reason } => self.cancel(reason),
            A::AddNote => {
                self.emit(Kind::NoteAdded);
                Ok(())
            }
            A::Attach(file) => {
                self.attach(file);
                Ok(())
            }
            A::FileClaimItem { item } => {
                self.file_claim_item(item);
                Ok(())
            }
            A::LinkHousehold { unit, owner } => self.link_household(unit, owner),
            A::ContactHousehold { .. } | A::ListDamage { .. } | A::RecordCompensation { .. } => {
                self.household_step(action)
            }
            other => self.claim_step(other, calendar),
        }
    }

    /// Moves to `to` if the state is one of `from`, then meets `meets`.
    fn move_to(
        &mut self,
        from: &[State],
        to: State,
        action: &'static str,
        meets: &[SlaKind],
    ) -> Result<(), IncidentError> {
        let current = self.incident.state;
        if !from.contains(&current) {
            return Err(IncidentError::InvalidTransition {
                from: current,
                action,
            });
        }
        self.incident.state = to;
        self.emit(Kind::StateChanged { from: current, to });
        meets.iter().for_each(|sla| self.meet(*sla));
        Ok(())
    }

    fn make_safe(&mut self) -> Result<(), IncidentError> {
        let current = self.incident.state;
        if !matches!(current, State::Dispatched | State::OnSite) {
            return Err(IncidentError::InvalidTransition {
                from: current,
                action: "make safe",
            });
        }
        self.emit(Kind::MadeSafe);
        self.meet(SlaKind::MadeSafe);
        Ok(())
    }

    fn resolve(&mut self, calendar: &WorkingCalendar) -> Result<(), IncidentError> {
        // Resolution also settles the milestones it implies: safe, and the owner answered.
        let meets = [SlaKind::Resolved, SlaKind::MadeSafe, SlaKind::Replied];
        if matches!(self.incident.state, State::Dispatched | State::OnSite) {
            self.incident.check_evidence(BEFORE_RESOLVE, "resolve")?;
        }
        self.move_to(
            &[State::Dispatched, State::OnSite],
            State::Resolved,
            "resolve",
            &meets,
        )?;
        let pending = std::mem::take(&mut self.incident.pending_clocks);
        self.start_clocks(&pending, calendar);
        Ok(())
    }

    fn cancel(&mut self, reason: String) -> Result<(), IncidentError> {
        if reason.trim().is_empty() {
            return Err(IncidentError::MissingReason);
        }
        let from = self.incident.state;
        self.incident.state = State::Cancelled;
        self.incident.cancel_reason = Some(reason.clone());
        // The reason goes on the timeline even when the caller gave no separate note.
        if self.note.is_empty() {
            self.note = reason;
        }
        self.emit(Kind::StateChanged {
            from,
            to: State::Cancelled,
        });
        Ok(())
    }

    /// Starts the rules anchored at report or occurrence; parks those anchored at resolution
    /// until the incident is resolved, and starts them from now once it is.
    fn start_clocks(&mut self, rules: &[SlaRule], calendar: &WorkingCalendar) {
        for rule in rules {
            let anchor_at = match rule.anchor {
                SlaAnchor::Reported => self.incident.reported_at,
                SlaAnchor::Occurrence => self.incident.occurred_at,
                SlaAnchor::Resolved if self.incident.state == State::Resolved => self.now,
                SlaAnchor::Resolved => {
                    self.incident.pending_clocks.push(*rule);
                    continue;
                }
            };
            self.start_clock(rule, anchor_at, calendar);
        }
    }

    /// One accident clock on a raised fault: a step already met stays met; a running clock
    /// of the same kind gives way to the accident's.
    fn raise_clock(&mut self, rule: &SlaRule, calendar: &WorkingCalendar) {
        let clocks = &mut self.incident.clocks;
        if clocks.iter().any(|c| c.sla == rule.sla && !c.is_running()) {
            return;
        }
        clocks.retain(|c| c.sla != rule.sla);
        let anchor_at = match rule.anchor {
            SlaAnchor::Reported => self.now,
            SlaAnchor::Occurrence => self.incident.occurred_at,
            SlaAnchor::Resolved if self.incident.state == State::Resolved => self.now,
            SlaAnchor::Resolved => {
                self.incident.pending_clocks.push(*rule);
                return;
            }
        };
        self.start_clock(rule, anchor_at, calendar);
    }

    pub(super) fn start_clock(
        &mut self,
        rule: &SlaRule,
        anchor_at: DateTime<Utc>,
        calendar: &WorkingCalendar,
    ) {
        let clock = SlaClock::start(rule, anchor_at, calendar);
        self.emit(Kind::SlaStarted {
            sla: clock.sla,
            due_at: clock.due_at,
        });
        self.incident.clocks.push(clock);
    }

    /// Meets the running clock of kind `sla`, if any; a late meeting that no tick caught
    /// reports the breach now so it is still counted once.
    pub(super) fn meet(&mut self, sla: SlaKind) {
        let now = self.now;
        let Some(clock) = self
            .incident
            .clocks
            .iter_mut()
            .find(|c| c.sla == sla && c.is_running())
        else {
            return;
        };
        let breached_now = clock.meet(now);
        let (due_at, late) = (clock.due_at, now > clock.due_at);
        if breached_now {
            self.emit(Kind::SlaBreached { sla, due_at });
        }
        self.emit(Kind::SlaMet { sla, late });
    }

    fn attach(&mut self, file: NewAttachment) {
        let kind = file.kind;
        let id = file.id.clone();
        self.incident.attachments.push(Attachment {
            id: file.id,
            kind: file.kind,
            content_type: file.content_type,
            size_bytes: file.size_bytes,
            caption: file.caption,
            added_at: self.now,
            added_by: self.actor.clone(),
        });
        self.emit(Kind::Attached {
            attachment_id: id,
            kind,
        });
    }
}
