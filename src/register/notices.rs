//! Notices to owners (通知, rules.md §8.2, §13.14): the level and its colour, the target
//! units, the zh-CN templates, and the 24-hour lead a planned stoppage needs (§14).

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// A planned water, power or lift stoppage is noticed at least this long ahead (rules.md
/// §14, product default).
pub const STOPPAGE_LEAD_HOURS: i64 = 24;

/// How loud a notice is (§13.14: 通告 / 重要通告 / 紧急通告).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoticeLevel {
    /// 通告, shown green.
    Notice,
    /// 重要通告, shown yellow.
    Important,
    /// 紧急通告, shown red.
    Urgent,
}

impl NoticeLevel {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeLevel::Notice => "notice",
            NoticeLevel::Important => "important",
            NoticeLevel::Urgent => "urgent",
        }
    }

    /// The colour the notice is shown in.
    pub fn color(self) -> &'static str {
        match self {
            NoticeLevel::Notice => "green",
            NoticeLevel::Important => "yellow",
            NoticeLevel::Urgent => "red",
        }
    }

    /// The zh-CN heading.
    pub fn heading(self) -> &'static str {
        match self {
            NoticeLevel::Notice => "通告",
            NoticeLevel::Important => "重要通告",
            NoticeLevel::Urgent => "紧急通告",
        }
    }

    /// Parses the stable name.
    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
    }
}

/// What a notice is drafted from (§13.14 templates).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoticeTemplate {
    /// Free text: title and body as written.
    General,
    /// 计划停水.
    WaterStoppage,
    /// 计划停电.
    PowerStoppage,
    /// 电梯停运.
    LiftStoppage,
    /// 消防系统测试.
    FireSystemTest,
    /// 暴雨预警.
    HeavyRain,
}

impl NoticeTemplate {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeTemplate::General => "general",
            NoticeTemplate::WaterStoppage => "water_stoppage",
            NoticeTemplate::PowerStoppage => "power_stoppage",
            NoticeTemplate::LiftStoppage => "lift_stoppage",
            NoticeTemplate::FireSystemTest => "fire_system_test",
            NoticeTemplate::HeavyRain => "heavy_rain",
        }
    }

    /// Parses the stable name.
    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
    }

    /// A planned stoppage, which needs the 24-hour lead.
    pub fn is_stoppage(self) -> bool {
        matches!(
            self,
            NoticeTemplate::WaterStoppage
                | NoticeTemplate::PowerStoppage
                | NoticeTemplate::LiftStoppage
        )
    }

    /// Title and body in zh-CN for a window `from`–`to` in site time.
    pub fn render(self, from: DateTime<Utc>, to: DateTime<Utc>, tz: Tz) -> (String, String) {
        let f = |t: DateTime<Utc>| {
            t.with_timezone(&tz)
                .format("%Y年%m月%d日 %H:%M")
                .to_string()
        };
        let (from, to) = (f(from), f(to));
        match self {
            NoticeTemplate::General => (String::new(), String::new()),
            NoticeTemplate::WaterStoppage => (
                "计划停水通知".into(),
                format!(
                    "尊敬的业户：因供水设施检修，定于{from}至{to}暂停供水，请提前做好储水准备。不便之处，敬请谅解。"
                ),
            ),
            NoticeTemplate::PowerStoppage => (
                "计划停电通知".into(),
                format!(
                    "尊敬的业户：因供电设施检修，定于{from}至{to}暂停供电，请提前关闭电器并做好准备。不便之处，敬请谅解。"
                ),
            ),
            NoticeTemplate::LiftStoppage => (
                "电梯停运通知".into(),
                format!(
                    "尊敬的业户：因电梯维保，定于{from}至{to}停运，请改用其他电梯或楼梯。不便之处，敬请谅解。"
                ),
            ),
            NoticeTemplate::FireSystemTest => (
                "消防系统测试通知".into(),
                format!(
                    "尊敬的业户：定于{from}至{to}进行消防系统测试，期间警铃可能鸣响，请勿惊慌，无需疏散。"
                ),
            ),
            NoticeTemplate::HeavyRain => (
                "暴雨预警通知".into(),
                format!(
                    "尊敬的业户：气象部门发布暴雨预警（{from}至{to}），请关好门窗，勿将车辆停放在低洼处，注意出行安全。"
                ),
            ),
        }
    }
}

/// Which units a notice is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum NoticeTarget {
    /// Every unit of the estate.
    All,
    /// Every unit of one building.
    Building {
        /// Building code.
        building: String,
    },
    /// Listed units.
    Units {
        /// Unit ids.
        units: Vec<String>,
    },
    /// The households linked to an incident (§13.9).
    Incident {
        /// Incident id.
        incident: i64,
    },
}

/// How a notice reached a unit (§13.14: paper, phone or SMS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryChannel {
    /// Printed and delivered, signed for.
    Paper,
    /// A call.
    Phone,
    /// A text message.
    Sms,
}

impl DeliveryChannel {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryChannel::Paper => "paper",
            DeliveryChannel::Phone => "phone",
            DeliveryChannel::Sms => "sms",
        }
    }

    /// Parses the stable name.
    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
    }
}

/// A unit's delivery and confirmation record for one notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Delivery {
    /// The unit.
    pub unit: String,
    /// How it was delivered, once it was.
    pub channel: Option<DeliveryChannel>,
    /// When delivered.
    pub delivered_at: Option<DateTime<Utc>>,
    /// When the household confirmed it.
    pub confirmed_at: Option<DateTime<Utc>>,
    /// Who recorded it.
    pub recorded_by: Option<String>,
}

/// A notice with its per-unit records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Notice {
    /// Its number.
    pub id: i64,
    /// Level.
    pub level: NoticeLevel,
    /// Colour of the level.
    pub color: String,
    /// Template it was drafted from.
    pub template: NoticeTemplate,
    /// Title.
    pub title: String,
    /// Text.
    pub body: String,
    /// Start of the announced window (a stoppage, a test).
    pub starts_at: Option<DateTime<Utc>>,
    /// End of the announced window.
    pub ends_at: Option<DateTime<Utc>>,
    /// When the posting comes down.
    pub expires_at: DateTime<Utc>,
    /// Who it is for.
    pub target: NoticeTarget,
    /// Who issued it.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// One record per target unit.
    pub deliveries: Vec<Delivery>,
    /// One message record per owner or tenant of a target unit (`[notify]`): channel,
    /// status (queued, sent, delivered, failed, suppressed, hand), reason, attempts.
    #[serde(default, skip_deserializing)]
    pub recipients: Vec<super::messages::MessageRecord>,
}

/// Why a notice cannot be issued: the field at fault and a sentence.
pub type NoticeProblem = (&'static str, String);

/// Checks the window and expiry of a notice at `now`.
pub fn check_window(
    template: NoticeTemplate,
    starts_at: Option<DateTime<Utc>>,
    ends_at: Option<DateTime<Utc>>,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), NoticeProblem> {
    if expires_at <= now {
        return Err((
            "expires_at",
            "the posting expiry must be in the future".into(),
        ));
    }
    if let (Some(s), Some(e)) = (starts_at, ends_at)
        && e <= s
    {
        return Err(("ends_at", "the window must end after it starts".into()));
    }
    if !template.is_stoppage() {
        return Ok(());
    }
    let Some(starts_at) = starts_at else {
        return Err((
            "starts_at",
            "a planned stoppage needs its start time".into(),
        ));
    };
    let lead = starts_at - now;
    if lead < Duration::hours(STOPPAGE_LEAD_HOURS) {
        return Err((
            "starts_at",
            format!(
                "a planned stoppage must be noticed at least {STOPPAGE_LEAD_HOURS} h ahead; this one starts in {} h {} min",
                lead.num_hours().max(0),
                (lead.num_minutes() % 60).max(0)
            ),
        ));
    }
    Ok(())
}
