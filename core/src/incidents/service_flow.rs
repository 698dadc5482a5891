//! The service-request state machine: received → acknowledged → in progress → completed →
//! followed up → closed, or declined with the reason given to the owner. Deadlines meet as
//! steps are recorded; an overdue deadline breaches once and issues a chaser (催办).

use chrono::{DateTime, Utc};

use super::attachments::{Attachment, AttachmentLimits, NewAttachment};
use super::calendar::{Desk, WorkingCalendar};
use super::event::SYSTEM_ACTOR;
use super::service::{
    Chaser, CompletionReport, FollowUpRecord, NewRequest, RequestId, RequestKind,
    RequestState as State, ServiceConfig, ServiceError, ServiceRequest,
};
use super::service_event::{RequestAction, RequestCommand, RequestEvent, RequestEventKind as Kind};
use super::sla::{SlaAnchor, SlaClock, SlaKind, SlaRule};

impl ServiceRequest {
    /// Takes in a request at `now` and starts its clocks. An important complaint goes to
    /// the manager at once (rules.md §13.18, seed 000:159).
    pub fn new(
        id: RequestId,
        new: NewRequest,
        config: &ServiceConfig,
        clocks: Clocks<'_>,
        now: DateTime<Utc>,
    ) -> (Self, Vec<RequestEvent>) {
        let mut request = Self {
            id,
            kind: new.kind,
            channel: new.channel,
            unit: new.unit,
            owner: new.owner,
            summary: new.summary,
            state: State::Received,
            received_at: now,
            clocks: Vec::new(),
            pending_clocks: Vec::new(),
            technician: None,
            reply: None,
            completion: None,
            follow_up: None,
            rating: None,
            decline_reason: None,
            manager_flagged_at: None,
            chasers: Vec::new(),
            timeline: Vec::new(),
            incident: None,
            assigned_to: None,
            work_orders: Vec::new(),
            attachments: Vec::new(),
        };
        let mut step = Step {
            request: &mut request,
            now,
            actor: new.received_by,
            note: String::new(),
            out: Vec::new(),
        };
        step.emit(Kind::Received {
            kind: new.kind,
            channel: new.channel,
        });
        step.start_clocks(config.rules_for(new.kind), clocks);
        // Named at the desk, else the unit's own person (贴心管家, seed 003:751).
        let person = new.assigned_to.or(new.unit_cs_person);
        if let Some(to) = person.filter(|p| !p.trim().is_empty()) {
            step.assign(to);
        }
        if matches!(new.kind, RequestKind::Complaint { important: true }) {
            step.flag_manager();
        }
        let events = step.out;
        (request, events)
    }

    /// Applies `cmd` at `now`. A refused command changes nothing.
    pub fn apply(
        &mut self,
        cmd: RequestCommand,
        clocks: Clocks<'_>,
        now: DateTime<Utc>,
    ) -> Result<Vec<RequestEvent>, ServiceError> {
        if !self.state.is_open() {
            return Err(ServiceError::NotOpen {
                id: self.id,
                state: self.state,
            });
        }
        let RequestCommand {
            actor,
            note,
            action,
        } = cmd;
        let mut step = Step {
            request: self,
            now,
            actor,
            note,
            out: Vec::new(),
        };
        step.run(action, clocks)?;
        Ok(step.out)
    }

    /// Breaches overdue clocks at `now`, once each, and issues a chaser for each breach.
    pub fn tick(&mut self, now: DateTime<Utc>) -> Vec<RequestEvent> {
        if !self.state.is_open() {
            return Vec::new();
        }
        let breached: Vec<_> = self
            .clocks
            .iter_mut()
            .filter_map(|c| c.tick(now).then_some((c.sla, c.due_at)))
            .collect();
        let mut step = Step {
            request: self,
            now,
            actor: SYSTEM_ACTOR.to_owned(),
            note: String::new(),
            out: Vec::new(),
        };
        let late_orders: Vec<_> = (step.request.work_orders.iter_mut())
            .filter_map(|w| w.tick(now).then(|| (w.department.clone(), w.due_at)))
            .collect();
        for (department, due_at) in late_orders {
            step.emit(Kind::WorkOrderOverdue { department, due_at });
        }
        for (sla, due_at) in breached {
            step.emit(Kind::SlaBreached { sla, due_at });
            step.request.chasers.push(Chaser {
                issued_at: now,
                overdue: sla,
                reason_for_delay: None,
                explained_by: None,
            });
            step.emit(Kind::ChaserIssued { overdue: sla });
        }
        step.out
    }
}

/// What a request's deadlines are counted on: the working-day calendar and the desk's
/// hours.
#[derive(Debug, Clone, Copy)]
pub struct Clocks<'a> {
    /// Working days, for spans in working days.
    pub calendar: &'a WorkingCalendar,
    /// Desk hours in the site's zone, for clocks that count only while the desk is staffed.
    pub desk: &'a Desk,
}

/// One command being applied.
struct Step<'a> {
    request: &'a mut ServiceRequest,
    now: DateTime<Utc>,
    actor: String,
    note: String,
    out: Vec<RequestEvent>,
}

impl Step<'_> {
    /// Keeps a file on the request (the product's attachment limits: type and size), by
    /// whom and when, and says so on the timeline.
    fn attach(&mut self, file: NewAttachment) -> Result<(), ServiceError> {
        if let Some(reason) = AttachmentLimits::default().refusal(&file) {
            return Err(ServiceError::BadAttachment(reason));
        }
        let (id, kind) = (file.id.clone(), file.kind);
        self.request.attachments.push(Attachment {
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
        Ok(())
    }

    fn emit(&mut self, kind: Kind) {
        let event = RequestEvent {
            request: self.request.id,
            at: self.now,
            actor: self.actor.clone(),
            note: self.note.clone(),
            kind,
        };
        self.request.timeline.push(event.clone());
        self.out.push(event);
    }

    fn run(&mut self, action: RequestAction, clocks: Clocks<'_>) -> Result<(), ServiceError> {
        use RequestAction as A;
        let before_done = [State::Received, State::Acknowledged, State::InProgress];
        match action {
            A::Acknowledge => self.move_to(
                &[State::Received],
                State::Acknowledged,
                "acknowledge",
                &[SlaKind::Acknowledged],
            ),
            A::Dispatch { technician } => {
                self.move_to(
                    &before_done[..2],
                    State::InProgress,
                    "dispatch",
                    &[SlaKind::Acknowledged],
                )?;
                self.request.technician = Some(technician);
                Ok(())
            }
            A::ArriveOnSite => self.milestone(&[State::InProgress], "on_site", &[SlaKind::OnSite]),
            A::MakeSafe => self.milestone(&[State::InProgress], "made_safe", &[SlaKind::MadeSafe]),
            A::Reply { text } => self.reply(text, &before_done),
            A::AgreeVisit { at } => self.agree_visit(at, &before_done),
            A::Complete { report } => self.complete(report, clocks),
            A::FollowUp {
                method,
                outcome,
                satisfied,
            } => {
                self.move_to(
                    &[State::Completed],
                    State::FollowedUp,
                    "follow up",
                    &[SlaKind::FollowUp],
                )?;
                let record = FollowUpRecord {
                    by: self.actor.clone(),
                    method,
                    outcome,
                    satisfied,
                    at: self.now,
                };
                self.request.follow_up = Some(record);
                Ok(())
            }
            A::Rate { score } => self.rate(score),
            A::Close => self.close(),
            A::Decline { reason } => self.decline(reason),
            A::ExplainDelay { reason } => self.explain_delay(reason),
            A::FlagImportant => self.flag_important(),
            A::PassOn {
                department,
                task,
                due_at,
            } => self.pass_on(department, task, due_at),
            A::WorkOrderResult { text } => self.work_order_result(text),
            A::WarnOwnerOfDelay { reason } => self.warn_owner(reason),
            A::Assign { to } => {
                if to.trim().is_empty() {
                    return Err(ServiceError::Empty("assignee"));
                }
                self.assign(to);
                Ok(())
            }
            A::Attach(file) => self.attach(file),
        }
    }

    fn move_to(
        &mut self,
        from: &[State],
        to: State,
        action: &'static str,
        meets: &[SlaKind],
    ) -> Result<(), ServiceError> {
        let current = self.request.state;
        if !from.contains(&current) {
            return Err(ServiceError::InvalidTransition {
                from: current,
                action,
            });
        }
        self.request.state = to;
        self.emit(Kind::StateChanged { from: current, to });
        meets.iter().for_each(|sla| self.meet(*sla));
        Ok(())
    }

    fn milestone(
        &mut self,
        during: &[State],
        step: &'static str,
        meets: &[SlaKind],
    ) -> Result<(), ServiceError> {
        if !during.contains(&self.request.state) {
            return Err(ServiceError::InvalidTransition {
                from: self.request.state,
                action: step,
            });
        }
        self.emit(Kind::Milestone {
            step: step.to_owned(),
        });
        meets.iter().for_each(|sla| self.meet(*sla));
        Ok(())
    }

    fn reply(&mut self, text: String, during: &[State]) -> Result<(), ServiceError> {
        if text.trim().is_empty() {
            return Err(ServiceError::Empty("reply"));
        }
        self.milestone(
            during,
            "replied",
            &[SlaKind::Replied, SlaKind::Acknowledged],
        )?;
        self.request.reply = Some(text);
        Ok(())
    }

    fn agree_visit(&mut self, at: DateTime<Utc>, during: &[State]) -> Result<(), ServiceError> {
        self.milestone(during, "visit_agreed", &[])?;
        // §14: on site within 24 h "or at the agreed time"; the agreed time replaces it.
        if let Some(clock) = self
            .request
            .clocks
            .iter_mut()
            .find(|c| c.sla == SlaKind::OnSite && c.is_running())
        {
            clock.reschedule(at);
        }
        Ok(())
    }

    fn complete(&mut self, report: String, clocks: Clocks<'_>) -> Result<(), ServiceError> {
        if matches!(self.request.kind, RequestKind::Repair { .. }) && report.trim().is_empty() {
            // A repair is done only when the technician reports back (seed 001:851).
            return Err(ServiceError::Empty("completion report"));
        }
        let meets = [SlaKind::Resolved, SlaKind::MadeSafe, SlaKind::Replied];
        self.move_to(
            &[State::Acknowledged, State::InProgress],
            State::Completed,
            "complete",
            &meets,
        )?;
        let technician = self
            .request
            .technician
            .clone()
            .unwrap_or_else(|| self.actor.clone());
        self.request.completion = Some(CompletionReport {
            technician,
            report,
            at: self.now,
        });
        let pending = std::mem::take(&mut self.request.pending_clocks);
        self.start_clocks(&pending, clocks);
        Ok(())
    }

    fn rate(&mut self, score: u8) -> Result<(), ServiceError> {
        if !(1..=5).contains(&score) {
            return Err(ServiceError::BadRating(score));
        }
        self.milestone(&[State::Completed, State::FollowedUp], "rated", &[])?;
        self.request.rating = Some(score);
        Ok(())
    }

    fn close(&mut self) -> Result<(), ServiceError> {
        let missing = self.request.missing_for_close();
        if !missing.is_empty() {
            return Err(ServiceError::CannotClose { missing });
        }
        let from: &[State] = match self.request.kind {
            RequestKind::Suggestion => &[
                State::Received,
                State::Acknowledged,
                State::InProgress,
                State::Completed,
            ],
            _ => &[State::FollowedUp],
        };
        self.move_to(from, State::Closed, "close", &[])
    }

    fn decline(&mut self, reason: String) -> Result<(), ServiceError> {
        if reason.trim().is_empty() {
            return Err(ServiceError::Empty("decline reason"));
        }
        self.move_to(
            &[State::Received, State::Acknowledged],
            State::Declined,
            "decline",
            &[],
        )?;
        self.request.decline_reason = Some(reason);
        Ok(())
    }

    fn explain_delay(&mut self, reason: String) -> Result<(), ServiceError> {
        if reason.trim().is_empty() {
            return Err(ServiceError::Empty("reason for delay"));
        }
        let actor = self.actor.clone();
        let chaser = self
            .request
            .chasers
            .iter_mut()
            .rev()
            .find(|c| c.reason_for_delay.is_none())
            .ok_or(ServiceError::NoOpenChaser)?;
        chaser.reason_for_delay = Some(reason.clone());
        chaser.explained_by = Some(actor);
        self.emit(Kind::DelayExplained { reason });
        Ok(())
    }

    fn flag_important(&mut self) -> Result<(), ServiceError> {
        let RequestKind::Complaint { .. } = self.request.kind else {
            return Err(ServiceError::NotAComplaint("flagging important"));
        };
        self.request.kind = RequestKind::Complaint { important: true };
        if self.request.manager_flagged_at.is_none() {
            self.flag_manager();
        }
        Ok(())
    }

    /// Passes the request to `department` (seed 001:741): a work order with a deadline,
    /// one open at a time; the request is then in progress.
    fn pass_on(
        &mut self,
        department: String,
        task: String,
        due_at: DateTime<Utc>,
    ) -> Result<(), ServiceError> {
        if department.trim().is_empty() {
            return Err(ServiceError::Empty("department"));
        }
        if task.trim().is_empty() {
            return Err(ServiceError::Empty("task"));
        }
        if due_at <= self.now {
            return Err(ServiceError::DueInPast);
        }
        if let Some(open) = self.request.open_work_order() {
            let department = open.department.clone();
            return Err(ServiceError::WorkOrderOpen(self.request.id, department));
        }
        if self.request.state != State::InProgress {
            self.move_to(
                &[State::Received, State::Acknowledged],
                State::InProgress,
                "pass on",
                &[SlaKind::Acknowledged],
            )?;
        }
        self.request.work_orders.push(super::WorkOrder {
            department: department.clone(),
            task,
            due_at,
            issued_by: self.actor.clone(),
            issued_at: self.now,
            result: None,
            delay: None,
            breached: false,
        });
        self.emit(Kind::PassedOn { department, due_at });
        Ok(())
    }

    fn work_order_result(&mut self, text: String) -> Result<(), ServiceError> {
        if text.trim().is_empty() {
            return Err(ServiceError::Empty("result"));
        }
        let written = self.written(text.clone());
        let order = self.open_order()?;
        order.result = Some(written);
        let department = order.department.clone();
        self.emit(Kind::WorkOrderDone {
            department,
            result: text,
        });
        Ok(())
    }

    fn warn_owner(&mut self, reason: String) -> Result<(), ServiceError> {
        if reason.trim().is_empty() {
            return Err(ServiceError::Empty("reason for delay"));
        }
        let written = self.written(reason.clone());
        let order = self.open_order()?;
        order.delay = Some(written);
        let department = order.department.clone();
        self.emit(Kind::OwnerToldOfDelay { department, reason });
        Ok(())
    }

    fn written(&self, text: String) -> super::WorkResult {
        super::WorkResult {
            text,
            by: self.actor.clone(),
            at: self.now,
        }
    }

    fn open_order(&mut self) -> Result<&mut super::WorkOrder, ServiceError> {
        let id = self.request.id;
        (self.request.work_orders.iter_mut())
            .find(|w| w.is_open())
            .ok_or(ServiceError::NoWorkOrder(id))
    }

    fn assign(&mut self, to: String) {
        self.request.assigned_to = Some(to.clone());
        self.emit(Kind::Assigned { to });
    }

    fn flag_manager(&mut self) {
        self.request.manager_flagged_at = Some(self.now);
        self.emit(Kind::ManagerFlagged);
    }

    /// Starts report-anchored rules now; parks completion-anchored ones until completion.
    fn start_clocks(&mut self, rules: &[SlaRule], clocks: Clocks<'_>) {
        for rule in rules {
            let done = self.request.state == State::Completed;
            let anchor_at = match rule.anchor {
                SlaAnchor::Reported | SlaAnchor::Occurrence => self.request.received_at,
                SlaAnchor::Resolved if done => self.now,
                SlaAnchor::Resolved => {
                    self.request.pending_clocks.push(*rule);
                    continue;
                }
            };
            let clock = SlaClock::start_at_desk(rule, anchor_at, clocks.calendar, clocks.desk);
            self.emit(Kind::SlaStarted {
                sla: clock.sla,
                due_at: clock.due_at,
            });
            self.request.clocks.push(clock);
        }
    }

    fn meet(&mut self, sla: SlaKind) {
        let now = self.now;
        let Some(clock) = self
            .request
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
}
