//! State views: tailored for the simulators the dashboard knows, generic JSON for the others.

pub mod generic;
pub mod konnektor;
pub mod vst;
