//! The Euler sampler (diffusers' `EulerDiscreteScheduler`), which needs no randomness of its
//! own: SD-Turbo's one step at timestep 999 with trailing spacing, or any number of steps for
//! SD 1.x/2.x. Reads `scheduler_config.json` for the noise schedule and prediction type.

use super::config::SchedulerFile;

/// What the UNet predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prediction {
    Epsilon,
    VPrediction,
}

/// A schedule of `steps` steps.
#[derive(Debug, Clone)]
pub struct Euler {
    /// The UNet's timestep at each step.
    pub timesteps: Vec<f64>,
    /// The noise level at each step, and 0 after the last.
    pub sigmas: Vec<f64>,
    pub prediction: Prediction,
    /// What the first latents' unit noise is multiplied by.
    pub init_noise_sigma: f64,
}

impl Euler {
    pub fn new(c: &SchedulerFile, steps: usize) -> Result<Self, String> {
        let n = c.num_train_timesteps;
        if n < 2 || steps == 0 || steps > n {
            return Err(format!("cannot make {steps} steps out of {n} timesteps"));
        }
        let prediction = match c.prediction_type.as_str() {
            "epsilon" => Prediction::Epsilon,
            "v_prediction" => Prediction::VPrediction,
            other => return Err(format!("unknown prediction_type {other}")),
        };
        let betas: Vec<f64> = match c.beta_schedule.as_str() {
            "scaled_linear" => linspace(c.beta_start.sqrt(), c.beta_end.sqrt(), n)
                .into_iter()
                .map(|b| b * b)
                .collect(),
            "linear" => linspace(c.beta_start, c.beta_end, n),
            other => return Err(format!("unknown beta_schedule {other}")),
        };
        let mut product = 1.0;
        let all_sigmas: Vec<f64> = betas
            .iter()
            .map(|b| {
                product *= 1.0 - b;
                ((1.0 - product) / product).sqrt()
            })
            .collect();
        let timesteps: Vec<f64> = match c.timestep_spacing.as_str() {
            "linspace" => {
                let mut t = linspace(0.0, (n - 1) as f64, steps);
                t.reverse();
                t
            }
            "leading" => {
                let ratio = n / steps;
                (0..steps)
                    .rev()
                    .map(|i| ((i * ratio + c.steps_offset).min(n - 1)) as f64)
                    .collect()
            }
            "trailing" => {
                let ratio = n as f64 / steps as f64;
                (0..steps)
                    .map(|i| ((n as f64 - i as f64 * ratio).round() - 1.0).max(0.0))
                    .collect()
            }
            other => return Err(format!("unknown timestep_spacing {other}")),
        };
        let mut sigmas: Vec<f64> = timesteps.iter().map(|&t| interp(&all_sigmas, t)).collect();
        let max = sigmas.iter().copied().fold(0.0, f64::max);
        let init_noise_sigma = match c.timestep_spacing.as_str() {
            "linspace" | "trailing" => max,
            _ => (max * max + 1.0).sqrt(),
        };
        sigmas.push(0.0);
        Ok(Self {
            timesteps,
            sigmas,
            prediction,
            init_noise_sigma,
        })
    }

    /// What the UNet's input is multiplied by at `step`.
    pub fn input_scale(&self, step: usize) -> f64 {
        let s = self.sigmas[step];
        1.0 / (s * s + 1.0).sqrt()
    }

    /// The coefficients (a, b) with `next = a·sample + b·model_output` for `step`.
    pub fn step_coefficients(&self, step: usize) -> (f64, f64) {
        let (s, next) = (self.sigmas[step], self.sigmas[step + 1]);
        let dt = next - s;
        // x0 = p·sample + q·output; derivative = (sample − x0) / s; next = sample + derivative·dt.
        let (p, q) = match self.prediction {
            Prediction::Epsilon => (1.0, -s),
            Prediction::VPrediction => (1.0 / (s * s + 1.0), -s / (s * s + 1.0).sqrt()),
        };
        (1.0 + (1.0 - p) * dt / s, -q * dt / s)
    }
}

fn linspace(a: f64, b: f64, n: usize) -> Vec<f64> {
    if n == 1 {
        return vec![a];
    }
    (0..n)
        .map(|i| a + (b - a) * i as f64 / (n - 1) as f64)
        .collect()
}

/// `values` (one per integer timestep) at timestep `t`, linearly interpolated.
fn interp(values: &[f64], t: f64) -> f64 {
    let i = (t.floor().max(0.0) as usize).min(values.len() - 1);
    let j = (i + 1).min(values.len() - 1);
    let f = t - i as f64;
    values[i] * (1.0 - f) + values[j] * f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turbo() -> SchedulerFile {
        SchedulerFile {
            timestep_spacing: "trailing".into(),
            ..SchedulerFile::default()
        }
    }

    #[test]
    fn one_trailing_step_is_timestep_999_and_lands_on_the_predicted_image() {
        let e = Euler::new(&turbo(), 1).unwrap();
        assert_eq!(e.timesteps, vec![999.0]);
        // SD's schedule ends at σ ≈ 14.6; trailing spacing starts the noise at σ itself.
        assert!((e.sigmas[0] - 14.6).abs() < 0.1, "{}", e.sigmas[0]);
        assert_eq!(e.init_noise_sigma, e.sigmas[0]);
        // One Euler step to σ = 0 is x0 = sample − σ·ε.
        let (a, b) = e.step_coefficients(0);
        assert!(
            (a - 1.0).abs() < 1e-12 && (b + e.sigmas[0]).abs() < 1e-9,
            "{a} {b}"
        );
    }

    #[test]
    fn leading_spacing_counts_down_with_the_offset() {
        let c = SchedulerFile {
            steps_offset: 1,
            ..SchedulerFile::default()
        };
        let e = Euler::new(&c, 4).unwrap();
        assert_eq!(e.timesteps, vec![751.0, 501.0, 251.0, 1.0]);
        assert!(e.init_noise_sigma > e.sigmas[0]);
        assert_eq!(e.sigmas.len(), 5);
        assert!(Euler::new(&c, 0).is_err());
    }

    #[test]
    fn one_v_prediction_step_lands_on_the_image_the_model_predicts() {
        // One step to σ = 0 must land on x0 = sample/(σ²+1) − v·σ/√(σ²+1) (diffusers' form).
        let c = SchedulerFile {
            prediction_type: "v_prediction".into(),
            timestep_spacing: "trailing".into(),
            ..SchedulerFile::default()
        };
        let e = Euler::new(&c, 1).unwrap();
        let s = e.sigmas[0];
        let x0 = 0.7;
        let sample = 1.3;
        let v = (sample / (s * s + 1.0) - x0) * (s * s + 1.0).sqrt() / s;
        let (a, b) = e.step_coefficients(0);
        assert!((a * sample + b * v - x0).abs() < 1e-9);
    }
}
