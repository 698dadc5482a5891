//! How the simulated equipment behaves: one small model per profile, stepped with the
//! elapsed time. Deterministic (a seed per device), so a demo looks alive but repeatable.

use std::f64::consts::TAU;

/// A device model: given total and step time in seconds, the values of its points.
pub(crate) trait Model: Send + std::fmt::Debug {
    fn step(&mut self, t: f64, dt: f64) -> Vec<(String, f64)>;
}

/// The model for a profile id; unknown profiles hold every point at zero.
pub(crate) fn model_for(profile: &str, seed: u64) -> Box<dyn Model> {
    let phase = (seed % 7) as f64;
    match profile {
        "eastron_sdm630" => Box::new(EnergyMeter {
            kwh: 12_345.0 + 100.0 * phase,
            phase,
        }),
        "tuf_2000m" => Box::new(WaterMeter { m3: 4_321.0, phase }),
        "abb_acs580" => Box::new(Pump { phase }),
        "fire_panel_gateway" => Box::new(FirePanel),
        "aquaread_leveline_ctd" => Box::new(Tank { phase }),
        "household_electricity" => Box::new(Household::new(seed, "import_energy", 1.0)),
        "household_water" | "household_gas" => Box::new(Household::new(seed, "total_volume", 0.01)),
        _ => Box::new(Idle),
    }
}

fn v(name: &str, value: f64) -> (String, f64) {
    (name.to_owned(), value)
}

#[derive(Debug)]
struct EnergyMeter {
    kwh: f64,
    phase: f64,
}

impl Model for EnergyMeter {
    fn step(&mut self, t: f64, dt: f64) -> Vec<(String, f64)> {
        let wave = (TAU * t / 120.0 + self.phase).sin();
        let current = 25.0 + 12.0 * wave;
        let power = 3.0 * 230.0 * current;
        self.kwh += power * dt / 3_600_000.0;
        vec![
            v("voltage_l1", 230.0 + 2.0 * wave),
            v("voltage_l2", 229.0 + 1.5 * wave),
            v("voltage_l3", 231.0 - 1.0 * wave),
            v("current_l1", current),
            v("total_power", power),
            v("frequency", 50.0 + 0.02 * (t / 7.0).sin()),
            v("import_energy", self.kwh),
        ]
    }
}

#[derive(Debug)]
struct WaterMeter {
    m3: f64,
    phase: f64,
}

impl Model for WaterMeter {
    fn step(&mut self, t: f64, dt: f64) -> Vec<(String, f64)> {
        let flow = 5.0 + 3.0 * (TAU * t / 90.0 + self.phase).sin();
        // Sped up sixty-fold so the counter visibly rises in a demo.
        self.m3 += flow * dt / 60.0;
        vec![v("flow_rate", flow), v("total_volume", self.m3.floor())]
    }
}

/// A household's meter: a counter that starts somewhere of its own and rises at a rate of
/// its own (sped up for a demo: a day's use in about ten minutes).
#[derive(Debug)]
struct Household {
    point: &'static str,
    total: f64,
    /// Units a second.
    rate: f64,
}

impl Household {
    fn new(seed: u64, point: &'static str, scale: f64) -> Household {
        let spread = (seed % 97) as f64;
        Household {
            point,
            total: scale * (1_000.0 + 37.0 * spread),
            rate: scale * (0.005 + 0.0002 * (seed % 13) as f64),
        }
    }
}

impl Model for Household {
    fn step(&mut self, _t: f64, dt: f64) -> Vec<(String, f64)> {
        self.total += self.rate * dt;
        vec![v(self.point, self.total)]
    }
}

#[derive(Debug)]
struct Pump {
    phase: f64,
}

impl Model for Pump {
    fn step(&mut self, t: f64, _dt: f64) -> Vec<(String, f64)> {
        // Runs 40 s of each minute; trips for 10 s once every ten minutes.
        let cycle = (t + self.phase * 5.0) % 60.0;
        let tripped = (t % 600.0) > 590.0;
        let running = cycle < 40.0 && !tripped;
        let (hz, amps) = if running { (48.5, 11.8) } else { (0.0, 0.0) };
        vec![
            v("running", f64::from(u8::from(running))),
            v("fault", f64::from(u8::from(tripped))),
            v("warning", 0.0),
            v("output_frequency", hz),
            v("motor_current", amps),
        ]
    }
}

#[derive(Debug)]
struct FirePanel;

impl Model for FirePanel {
    fn step(&mut self, t: f64, _dt: f64) -> Vec<(String, f64)> {
        // Every three minutes one zone, in turn, is in alarm for 20 s.
        let period = (t / 180.0) as u64;
        let zone_in_alarm = (period % 4) + 1;
        let alarm = t % 180.0 > 150.0 && t % 180.0 <= 170.0;
        (1..=4u64)
            .flat_map(|z| {
                let on = alarm && z == zone_in_alarm;
                [
                    v(&format!("zone{z}_alarm"), f64::from(u8::from(on))),
                    v(&format!("zone{z}_fault"), 0.0),
                    v(&format!("zone{z}_isolated"), 0.0),
                    v(&format!("zone{z}_test"), 0.0),
                ]
            })
            .collect()
    }
}

/// A roof water tank: drawn down by the day, refilled by the pump, in a 10-minute cycle.
#[derive(Debug)]
struct Tank {
    phase: f64,
}

impl Model for Tank {
    fn step(&mut self, t: f64, _dt: f64) -> Vec<(String, f64)> {
        let level_m = 2.2 + 0.8 * (TAU * t / 600.0 + self.phase).sin();
        vec![
            // `level` shares these registers; writing the pressure sets both.
            v("water_pressure", (level_m / 0.010197 * 10.0).round() / 10.0),
            v("temperature", 18.5 + 0.5 * (t / 300.0).sin()),
            v("conductivity", 420.0),
        ]
    }
}

#[derive(Debug)]
struct Idle;

impl Model for Idle {
    fn step(&mut self, _t: f64, _dt: f64) -> Vec<(String, f64)> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn energy_counter_only_rises() {
        let mut m = model_for("eastron_sdm630", 0);
        let kwh =
            |vals: Vec<(String, f64)>| vals.iter().find(|(n, _)| n == "import_energy").map(|x| x.1);
        let a = kwh(m.step(0.0, 0.0));
        let b = kwh(m.step(10.0, 10.0));
        assert!(b > a, "{a:?} -> {b:?}");
    }

    #[test]
    fn pump_starts_and_stops_within_a_minute() {
        let mut m = model_for("abb_acs580", 0);
        let running = |vals: Vec<(String, f64)>| vals[0].1;
        assert_eq!(running(m.step(10.0, 1.0)), 1.0);
        assert_eq!(running(m.step(50.0, 1.0)), 0.0);
    }

    #[test]
    fn a_fire_zone_goes_into_alarm_now_and_then() {
        let mut m = model_for("fire_panel_gateway", 0);
        let alarms = |vals: Vec<(String, f64)>| {
            vals.iter()
                .filter(|(n, v)| n.ends_with("_alarm") && *v == 1.0)
                .count()
        };
        assert_eq!(alarms(m.step(100.0, 1.0)), 0);
        assert_eq!(alarms(m.step(160.0, 1.0)), 1);
    }
}
