"""The shared calibration tables (a copy of the real ones under data/real) and their failure modes."""
import datetime
from pathlib import Path

import pytest

from calibration.readers import read_latency_points, read_resources, read_runs, series_by_run
from tests.calibration.errors import raises, write

REAL = Path(__file__).parents[2] / "calibration" / "data"


@pytest.fixture(scope="module")
def runs():
    return {run.config.id: run for run in read_runs(REAL / "runs.csv")}


@pytest.fixture(scope="module")
def readings():
    return read_resources(REAL / "resources.csv")


def _reading(readings, run_id, tool):
    (match,) = [r for r in readings if r.run_id == run_id and r.tool == tool]
    return match





# --- runs.csv -------------------------------------------------------------------------------------------------

def test_runs_config_and_results_of_a_known_run(runs):
    run = runs["A100-ROB-5p5w-u5"]
    assert run.config.pods == 5 and run.config.workers_per_pod == 5 and run.config.users == 5
    assert run.config.node_vcpus == 24 and run.config.device == "gpu"
    assert run.config.date == datetime.date(2023, 8, 17)
    assert run.result.throughput_rps == 121.0 and run.result.avg_response_ms == 40.0 and run.result.error_pct == 0
    assert run.line == 4


def test_runs_keep_blanks_as_none_not_zero(runs):
    cpu = runs["A10-ROB-CPU-1p1w-u5"]
    assert cpu.result.error_pct is None and cpu.result.throughput_rps == 35.4
    a10 = runs["A10-ROB-GPU-1p1w-u1"]
    assert a10.config.ramp_s is None and a10.config.duration_s is None


def test_runs_keep_the_source_wording_and_remarks(runs):
    detr = runs["A10-DETR-CPU-u1"]
    assert detr.result.throughput_text == "54/minute" and detr.result.throughput_rps == 0.9
    local = runs["LOCAL-ROB-GPU-u30"]
    assert local.config.pods == 1 and local.config.remarks["pods"] == "(docker compose)"
    assert local.config.date == datetime.date(2023, 8, 14) and local.config.remarks["date"].startswith("(inferred")
    assert local.result is None and local.config.node_vcpus is None


def test_a_prediction_table_has_config_columns_only(tmp_path):
    header = ("id,cloud_vm,gpu_model,gpu_partition,node_vcpus,node_ram_gb,model,device,pods,workers_per_pod,users,"
              "ramp_s,duration_s,batch_size,max_batch_delay_ms")
    row = "what-if,Standard_NC24ads_A100_v4,,,24,220,m,gpu,3,2,50,10,300,1,100"
    path = write(tmp_path, "plan.csv", f"{header}\n{row}\n")
    (run,) = read_runs(path)
    assert run.result is None and run.config.pods == 3 and run.config.users == 50 and run.config.duration_s == 300


@pytest.mark.parametrize(("cell_column", "value"), [
    ("users", "-5"), ("users", "five"), ("duration_s", "-10"), ("pods", "2.5"), ("node_ram_gb", "220GB"), ("device", "tpu"),
    ("date", "17/08/2023"), ("error_pct", "150"), ("throughput_rps", "12/s"),
])
def test_runs_bad_cells_name_line_and_column(tmp_path, cell_column, value):
    lines = (REAL / "runs.csv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    row = lines[2].split(",")  # A100-DETR-1p1w-u5: no quoted cells
    row[header.index(cell_column)] = value
    path = write(tmp_path, "runs.csv", "\n".join([lines[0], lines[1], ",".join(row)]) + "\n")
    error = raises(path, read_runs, line=3, field=cell_column)
    assert repr(value) in str(error)


def test_runs_duplicate_id_and_missing_config_column(tmp_path):
    lines = (REAL / "runs.csv").read_text(encoding="utf-8").splitlines()
    raises(write(tmp_path, "dup.csv", "\n".join([lines[0], lines[1], lines[1]])), read_runs, line=3, field="id")
    no_users = lines[0].replace(",users,", ",")
    raises(write(tmp_path, "cols.csv", no_users + "\n"), read_runs, line=1, field="users")


# --- resources.csv --------------------------------------------------------------------------------------------

def test_per_worker_gpu_memory_expands_repeats(readings):
    nvtop = _reading(readings, "A100-ROB-25p1w-u5", "nvtop")
    assert nvtop.values("worker_gpu_mem_mib") == (1868.0,) * 14 + (1488.0,) * 11
    assert len(nvtop.values("worker_pids")) == 25
    assert nvtop.value("gpu_util_pct") == 33.0
    assert nvtop.value("gpu_mem_used") == pytest.approx(42.351 * 1024)  # "42.351Gi" in MiB
    assert nvtop.values("gpu_power_w_cap") == (73.0, 300.0)
    assert nvtop.cells["worker_gpu_mem_mib"].raw.startswith("1868 x14 (first 14 rows)")


def test_htop_units_become_mib_and_seconds(readings):
    htop = _reading(readings, "A100-ROB-5p5w-u5", "htop")
    assert htop.values("mem_used_total") == (62.0 * 1024, 216.0 * 1024)
    assert htop.values("worker_virt") == (14.7 * 1024,) * 20
    assert htop.values("worker_time_plus")[:2] == pytest.approx((39.46, 32.89))
    assert htop.values("frontend_java_res") == (723.0, 579.0, 664.0, 655.0)
    assert htop.cells["worker_res_mib"].unit == "MiB" and htop.cells["worker_cpu_pct"].unit == "%"


def test_hidden_readings_are_none_and_prose_stays_prose(readings):
    htop = _reading(readings, "A100-ROB-25p1w-u5", "htop")
    cores = htop.values("cpu_per_core_pct")
    assert len(cores) == 24 and cores[9] is None and cores[12] is None and cores[7] == 22.1
    kubectl = [r for r in readings if r.tool.startswith("kubectl describe node")][0]
    assert kubectl.values("n_cpus_shown") is None
    assert kubectl.cells["n_cpus_shown"].raw == "capacity cpu 6; allocatable 5840m"
    smi = _reading(readings, "(setup, no run)", "nvidia-smi (in a shell on the node)")
    assert smi.values("gpu_power_w_cap") is None and smi.value("gpu_mem_total") == 4096.0


def test_a_remark_in_parentheses_is_not_a_reading(readings):
    describe = [r for r in readings if r.run_id == "A10-ROB-GPU-1p1w-* (config evidence)"][0]
    assert describe.value("worker_res_mib") == 2755.9
    assert describe.value("worker_pids") == 33.0  # "33 (container PID; worker id 9000, ...)"
    cpu = _reading(readings, "A10-ROB-CPU-5p1w-u5", "htop")
    assert cpu.values("worker_cpu_min_med_max") == (132.0, 140.5, 165.0)
    assert cpu.values("worker_time_plus")[0] == pytest.approx(8 * 60 + 16.32)


@pytest.mark.parametrize(("column", "value"), [("worker_res_mib", "12T"), ("gpu_util_pct", "-3")])
def test_resources_unknown_unit_or_negative_is_an_error(tmp_path, column, value):
    text = f"file,run_id,tool,{column}\nshot.png,R1,htop,1\nshot2.png,R1,htop,{value}\n"
    path = write(tmp_path, "resources.csv", text)
    raises(path, read_resources, line=3, field=column)


def test_resources_unknown_column_and_empty_run_id(tmp_path):
    raises(write(tmp_path, "r.csv", "file,run_id,tool,gpu_utl_pct\n"), read_resources, line=1, field="gpu_utl_pct")
    raises(write(tmp_path, "r2.csv", "file,run_id,tool\nshot.png,,htop\n"), read_resources, line=2, field="run_id")


# --- latency_points.csv ---------------------------------------------------------------------------------------

def test_latency_points_by_run():
    points = read_latency_points(REAL / "latency_points.csv")
    series = series_by_run(points)["A10-ROB-GPU-1p1w-u10"]
    assert len(series) == 18
    assert series[0].bucket == datetime.time(15, 6, 10) and series[0].response_ms == 109.1
    assert series[-1].point_index == 17 and series[-1].response_ms == 223.0


@pytest.mark.parametrize(("column", "value"), [
    ("point_index", "-1"), ("point_index", "1.5"), ("bucket_label", "3pm"), ("response_ms", "-2"),
    ("response_ms", ""),
])
def test_latency_points_bad_cells(tmp_path, column, value):
    cells = {"file": "g.png", "shows_run_id": "R", "point_index": "0", "bucket_label": "15:00:00", "response_ms": "9"}
    good = ",".join(cells.values())
    cells[column] = value
    text = "\n".join([",".join(cells), good.replace(",0,", ",1,"), ",".join(cells.values())]) + "\n"
    path = write(tmp_path, "lp.csv", text)
    raises(path, read_latency_points, line=3, field=column)


def test_latency_points_repeated_index(tmp_path):
    text = "file,shows_run_id,point_index,bucket_label,response_ms\ng.png,R,0,15:00:00,9\ng.png,R,0,15:00:10,9\n"
    raises(write(tmp_path, "lp.csv", text), read_latency_points, line=3, field="point_index")
