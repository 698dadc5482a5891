//! One supervisor for the daemon's long-running tasks. Each runs as its own tokio task
//! (so a panic stays in it) watched by a tracked one; an end before the stop is logged
//! with its reason, counted in `sitewatch_task_exits_total{task,reason}` and kept in
//! [`TaskHealth`], which turns `/readyz` not ready and names the task. Ends after the stop
//! are the orderly drain: the tracker waits for them as before, and only a panic or an
//! error among them is logged and counted.

use std::fmt::Display;
use std::future::Future;

use prometheus::IntCounterVec;
use tokio::task::JoinError;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::health::{Ended, TaskHealth};
use crate::metrics::Registry;

/// Spawns and watches the daemon's tasks.
#[derive(Debug, Clone)]
pub(super) struct Supervisor {
    tasks: TaskTracker,
    cancel: CancellationToken,
    health: TaskHealth,
    exits: IntCounterVec,
}

impl Supervisor {
    /// A supervisor whose tasks should run until `cancel`.
    pub(super) fn new(registry: &Registry, cancel: CancellationToken, health: TaskHealth) -> Self {
        Self {
            tasks: TaskTracker::new(),
            cancel,
            health,
            exits: registry.counter(
                "sitewatch_task_exits_total",
                "Long-running tasks that ended before the stop, by task and reason (returned, failed, panicked).",
                &["task", "reason"],
            ),
        }
    }

    /// Runs `task`, which should run until the stop, under `name`.
    pub(super) fn spawn<F>(&self, name: impl Into<String>, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.spawn_fallible(name, async move {
            task.await;
            Ok::<(), std::convert::Infallible>(())
        });
    }

    /// Runs `task`, which should run until the stop, under `name`; its error is its
    /// reason for ending.
    pub(super) fn spawn_fallible<F, E>(&self, name: impl Into<String>, task: F)
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
        E: Display + Send + 'static,
    {
        let name = name.into();
        let inner = tokio::spawn(async move { task.await.map_err(|e| e.to_string()) });
        let this = self.clone();
        self.tasks.spawn(async move {
            let end = match inner.await {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(("failed", Some(e))),
                Err(e) => Some(("panicked", Some(panic_message(e)))),
            };
            this.ended(name, end);
        });
    }

    /// Notes how a task ended: `None` is a plain return.
    fn ended(&self, task: String, end: Option<(&'static str, Option<String>)>) {
        let stopping = self.cancel.is_cancelled();
        let (reason, detail) = end.unwrap_or(("returned", None));
        if stopping && reason == "returned" {
            return;
        }
        self.exits.with_label_values(&[&task, reason]).inc();
        let detail_text = detail.as_deref().unwrap_or("");
        if stopping {
            tracing::error!(
                task,
                reason,
                detail = detail_text,
                "task ended badly while stopping"
            );
            return;
        }
        tracing::error!(
            task,
            reason,
            detail = detail_text,
            "task ended before the stop; not ready"
        );
        self.health.ended(Ended {
            task,
            reason,
            detail,
        });
    }

    /// No more tasks will be spawned.
    pub(super) fn close(&self) {
        self.tasks.close();
    }

    /// Waits until every task has ended.
    pub(super) async fn wait(&self) {
        self.tasks.wait().await;
    }
}

/// A panic's message, when it is text.
fn panic_message(e: JoinError) -> String {
    if !e.is_panic() {
        return e.to_string();
    }
    let payload = e.into_panic();
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".to_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    /// The log lines, as the daemon's subscriber would write them.
    #[derive(Clone, Default)]
    struct Log(Arc<Mutex<Vec<u8>>>);

    impl Write for Log {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn an_early_end_is_logged_counted_and_kept_and_the_drain_is_not() {
        let log = Log::default();
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let registry = Registry::new();
        let health = TaskHealth::default();
        let cancel = CancellationToken::new();
        let sup = Supervisor::new(&registry, cancel.clone(), health.clone());
        sup.spawn("mqtt_source", async {});
        sup.spawn("engine", async { panic!("books torn") });
        sup.spawn_fallible("http_server", async { Err("accept failed") });
        sup.spawn("billing", cancel.clone().cancelled_owned());
        while health.list().len() < 3 {
            tokio::task::yield_now().await;
        }
        cancel.cancel();
        sup.close();
        sup.wait().await;

        let mut ended: Vec<(String, &str, Option<String>)> = health
            .list()
            .into_iter()
            .map(|e| (e.task, e.reason, e.detail))
            .collect();
        ended.sort();
        assert_eq!(
            ended,
            [
                ("engine".into(), "panicked", Some("books torn".into())),
                ("http_server".into(), "failed", Some("accept failed".into())),
                ("mqtt_source".into(), "returned", None),
            ]
        );
        let text = registry.render();
        for series in [
            r#"sitewatch_task_exits_total{reason="panicked",task="engine"} 1"#,
            r#"sitewatch_task_exits_total{reason="failed",task="http_server"} 1"#,
            r#"sitewatch_task_exits_total{reason="returned",task="mqtt_source"} 1"#,
        ] {
            assert!(text.contains(series), "{series} in\n{text}");
        }
        assert!(
            !text.contains(r#"task="billing""#),
            "the drain is no early end"
        );
        let log = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
        for task in ["engine", "http_server", "mqtt_source"] {
            let line = log.lines().find(|l| {
                l.contains(&format!("task=\"{task}\"")) || l.contains(&format!("task={task}"))
            });
            let line = line.unwrap_or_else(|| panic!("{task} logged in\n{log}"));
            assert!(line.contains("task ended before the stop"), "{line}");
        }
        assert!(!log.contains("billing"), "{log}");
    }
}
