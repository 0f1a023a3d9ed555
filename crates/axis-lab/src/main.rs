//! axis-lab: the native pipeline that computes the Assistant Axis (issue "Axis lab").

fn main() {
    eprintln!("axis-lab: not implemented yet — see the \"Axis lab\" issue");
    std::process::exit(2);
}
