//! Escalation: while an alarm stays unacknowledged-active, each step of its priority's
//! chain fires once its delay since the raise has passed (rules.md §14 Escalation). An
//! acknowledgement, a clear or a mask stops it; a returned alarm is not escalated, since
//! there is nothing left to attend to on site, only a record to acknowledge.

use chrono::{DateTime, Utc};

use super::AlarmState;
use super::engine::AlarmEngine;
use super::model::{AlarmEvent, Transition};

impl AlarmEngine {
    /// Takes every escalation step of alarm `i` that is due at `now`.
    pub(super) fn escalate_one(&mut self, i: usize, now: DateTime<Utc>, out: &mut Vec<AlarmEvent>) {
        let alarm = &mut self.alarms[i];
        let Some(raised) = alarm.raised_at else {
            return;
        };
        if alarm.state != AlarmState::UnackActive {
            return;
        }
        let chain = self.config.escalation.chain(alarm.priority);
        while let Some(step) = chain.get(alarm.escalation_level as usize) {
            if now - raised < step.after {
                break;
            }
            alarm.escalation_level += 1;
            let transition = Transition::Escalated {
                level: alarm.escalation_level,
                role: step.role.clone(),
            };
            out.push(alarm.event(transition, now));
        }
    }

    /// Takes the due escalation steps of every alarm.
    pub(super) fn escalate_all(&mut self, now: DateTime<Utc>, out: &mut Vec<AlarmEvent>) {
        for i in 0..self.alarms.len() {
            self.escalate_one(i, now, out);
        }
    }
}
