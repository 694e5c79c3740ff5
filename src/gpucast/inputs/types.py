"""The seed's serving input dataclasses (LLMWorkloadInput, ModelConfig, GPUConfig) plus gpucast's serving
options, and their validation (the training inputs are in ``inputs.training``).

Every check names the field, the value and what is accepted, so the CLI, config files and
the API all report the same one-line message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core.engine_era import check_engine_version
from ..core.percentiles import check_percentile
from ..core.specs import PRECISION_NAMES, ModelSpec, Precision
from ..errors import InputError
from .agent import AgentWorkloadInput
from .numbers import check_flag, check_fraction, check_instance, check_positive, fold_case, plain, plain_numbers, whole
from .offers import check_pricing, parse_clouds

# The seed's --precision default: what a plan uses when neither the caller nor the model's published checkpoint
# states a precision (ModelConfig.precision None). `estimate` keeps its own default, BF16 (estimate.DEFAULT_PRECISION).
DEFAULT_PRECISION = "FP16"
# The seed's --context-window default; without the flag a longer request (input + output) raises it to fit.
DEFAULT_CONTEXT_WINDOW = 4096


def parse_precision(value: str, flag: str = "--precision") -> Precision:
    """A Precision from a name, case-insensitive ("bf16" -> BF16)."""
    name = str(value).strip().upper()
    if name not in PRECISION_NAMES:
        raise InputError(f"{flag} {value!r} is not one of {', '.join(PRECISION_NAMES)}")
    return Precision[name]


def resolve_precision(
    given: str | None, model: ModelSpec, *, default: str = DEFAULT_PRECISION, from_catalog: bool = True
) -> tuple[Precision, str]:
    """(weight precision, note): ``given`` when stated, else the precision of the model's published checkpoint
    (catalog ``checkpoint_precision``, or a config.json's ``quantization_config``), else ``default``. The note says
    why when the checkpoint chose it (for the plan's assumptions), and is empty otherwise."""
    if given is not None:
        return parse_precision(given), ""
    if model.checkpoint_precision:
        precision = parse_precision(model.checkpoint_precision)
        where = (
            f"{model.name}'s config.json declares {precision.name} weights (quantization_config)"
            if not from_catalog
            else f"the checkpoint named, {model.hf_id}, is {precision.name}"
            if precision.name.lower() in model.hf_id.lower()  # an FP8 checkpoint of a 16-bit release (catalog.loader)
            else f"{model.name}'s published checkpoint is {precision.name}"
        )
        return precision, f"Precision {precision.name}: {where} (no --precision given)"
    return parse_precision(default), ""


MIN_TARGET_UTILIZATION = 0.05  # a fleet planned below 5% busy is a typo (0.7 meant as 0.007), not a plan


MAX_REQUESTS_PER_SECOND = 1e7  # the most a plan is made for (--rps; a forecast's peak, planning.timeline)


@dataclass
class LLMWorkloadInput:
    """Inference load: average requests/s and tokens per request (seed field names).

    With ``agent`` set, requests are LLM calls: requests_per_second = tasks/s x calls per task and
    avg_input_tokens = the mean prompt per call (``LLMWorkloadInput.for_agent`` fills them).
    """

    requests_per_second: float
    avg_input_tokens: int
    avg_output_tokens: int
    peak_load_multiplier: float = 1.5
    growth_rate: float = 0.0  # percent over the planning horizon, 0-1000
    agent: AgentWorkloadInput | None = None
    # issue 21: a built-in profile name (length_profiles.toml) or a CSV of per-request lengths; its means then
    # replace avg_input_tokens/avg_output_tokens, and capacity, KV cache and latency tails use the distribution
    length_profile: str | None = None

    def __post_init__(self) -> None:
        plain_numbers(self)
        self.avg_input_tokens, self.avg_output_tokens = whole(self.avg_input_tokens), whole(self.avg_output_tokens)
        if isinstance(self.agent, dict):
            self.agent = AgentWorkloadInput.from_dict(self.agent)

    @classmethod
    def for_agent(
        cls, agent: AgentWorkloadInput, output_tokens: int, peak_load_multiplier: float = 1.5, growth_rate: float = 0.0
    ) -> LLMWorkloadInput:
        """The workload of an agent: calls per second and mean prompt per call derived from ``agent``."""
        check_instance("agent", agent, AgentWorkloadInput, "AgentWorkloadInput(tasks_per_second=0.5, ...)")
        output_tokens = whole(plain(output_tokens))
        if output_tokens is not None or agent.output_tokens_per_call is None:  # 0 planned 0-token outputs
            check_positive("output_tokens (--output-tokens)", output_tokens, integer=True, upper=1_000_000)
        agent.validate(output_tokens)
        rate, mean_input = agent.derived(output_tokens)
        return cls(
            rate, mean_input, agent.output_tokens_per_call or output_tokens, peak_load_multiplier, growth_rate, agent
        )

    @classmethod
    def for_length_profile(
        cls,
        requests_per_second: float,
        length_profile: str,
        peak_load_multiplier: float = 1.5,
        growth_rate: float = 0.0,
    ) -> LLMWorkloadInput:
        """A workload whose request lengths follow ``length_profile`` (a built-in name or a CSV path): the average
        tokens are the profile's means."""
        from .length_profile import resolve_length_profile

        profile = resolve_length_profile(length_profile)
        return cls(requests_per_second, max(1, round(profile.mean_input)), max(1, round(profile.mean_output)),
                   peak_load_multiplier, growth_rate, length_profile=length_profile)  # fmt: skip

    def validate(self) -> None:
        check_positive("requests_per_second (--rps)", self.requests_per_second, upper=MAX_REQUESTS_PER_SECOND)
        if self.length_profile is not None and (
            not isinstance(self.length_profile, str) or not self.length_profile.strip()
        ):
            raise InputError(
                f"length_profile (--length-profile) {self.length_profile!r} must be a profile name or a file path"
            )
        if self.length_profile is not None and self.agent is not None:
            raise InputError(
                "--length-profile does not combine with an agent workload (its calls' lengths are derived)"
            )
        check_positive("avg_input_tokens (--input-tokens)", self.avg_input_tokens, integer=True, upper=10_000_000)
        check_positive("avg_output_tokens (--output-tokens)", self.avg_output_tokens, integer=True, upper=1_000_000)
        check_positive("peak_load_multiplier (--peak-multiplier)", self.peak_load_multiplier, upper=100)
        if self.peak_load_multiplier < 1:
            raise InputError(
                f"peak_load_multiplier (--peak-multiplier) {self.peak_load_multiplier!r} must be at least 1"
            )
        rate = self.growth_rate
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not (0 <= rate <= 1000):
            raise InputError(f"growth_rate (--growth-rate) {rate!r} must be a percentage between 0 and 1000")
        if self.agent is not None:
            self._validate_agent()

    def _validate_agent(self) -> None:
        agent = self.agent
        if not isinstance(agent, AgentWorkloadInput):
            raise InputError(f"agent {agent!r} must be an AgentWorkloadInput or a JSON object")
        agent.validate(self.avg_output_tokens)
        rate, mean_input = agent.derived(agent.output_tokens_per_call or self.avg_output_tokens)
        if abs(self.requests_per_second - rate) > 1e-6 * max(rate, 1.0) or self.avg_input_tokens != mean_input:
            raise InputError(
                f"with an agent workload, requests_per_second and avg_input_tokens are derived ({rate:g} calls/s, "
                f"{mean_input} tokens per call), not {self.requests_per_second!r} and {self.avg_input_tokens!r}: "
                "drop --rps/--input-tokens or use LLMWorkloadInput.for_agent"
            )


@dataclass
class ModelConfig:
    """Which model and how it is stored. Give ``model_name`` (catalog), ``model_config_path``
    (a Hugging Face config.json) or the seed's ``model_size_billions``."""

    model_size_billions: float | None = None
    # None = the published checkpoint's precision (FP8 for DeepSeek-V3/R1), else DEFAULT_PRECISION (resolve_precision)
    precision: str | None = None
    context_window: int | None = None  # max_model_len; None: 4096, or input + output tokens where that is longer
    batch_size: int | None = None  # cap on concurrent sequences per replica; None = planner chooses
    model_name: str | None = None
    model_config_path: str | None = None
    kv_precision: str | None = None  # defaults to the weight precision (16-bit for INT4/FP4 weights)
    # explicit architecture (--layers --hidden --heads --kv-heads --ffn --vocab ...): catalog.hf_config.model_from_shape
    shape: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        plain_numbers(self)
        if self.context_window is not None:
            self.context_window = whole(self.context_window)

    def validate(self) -> None:
        sources = (self.model_size_billions, self.model_name, self.model_config_path, self.shape or None)
        given = [x for x in sources if x is not None]
        if not given:
            raise InputError(
                "no model given: use --model NAME, --model-config PATH, --model-size BILLIONS or the shape flags "
                "(--layers --hidden --heads --vocab ...)"
            )
        if len(given) > 1:
            raise InputError(
                "give only one of --model, --model-config, --model-size and the shape flags (--layers ...)"
            )
        if self.shape is not None and not isinstance(self.shape, dict):
            raise InputError(f"model.shape {self.shape!r} must be an object of shape flags (layers, hidden, heads ...)")
        for flag, text in (("--model", self.model_name), ("--model-config", self.model_config_path)):
            if text is not None and (not isinstance(text, str) or not text.strip()):
                raise InputError(f"{flag} {text!r} must be a non-empty string")
        if self.precision is not None and not isinstance(self.precision, str):
            raise InputError(f"--precision {self.precision!r} is not one of {', '.join(PRECISION_NAMES)}")
        if self.model_size_billions is not None:
            check_positive("model_size_billions (--model-size)", self.model_size_billions, upper=2000)
        if self.precision is not None:
            parse_precision(self.precision)
        if self.kv_precision is not None:
            parse_precision(self.kv_precision, "--kv-precision")
        if self.context_window is not None:
            check_positive("context_window (--context-window)", self.context_window, integer=True, upper=10_000_000)
        if self.batch_size is not None:
            check_positive("batch_size (--batch-size)", self.batch_size, integer=True, upper=100_000)


@dataclass
class GPUConfig:
    """GPU type (None = recommend one) and the planned utilization (seed field names)."""

    gpu_type: str | None = None
    target_gpu_utilization: float = 0.7  # share of a replica's full throughput average traffic may use
    gpu_types: list[str] | tuple[str, ...] | None = None  # the GPUs to choose from when gpu_type is None (a service's)

    def __post_init__(self) -> None:
        plain_numbers(self)

    def validate(self) -> None:
        if self.gpu_type is not None and (not isinstance(self.gpu_type, str) or not self.gpu_type.strip()):
            raise InputError(f"--gpu-type {self.gpu_type!r} must be a GPU name (see `gpucast gpus`)")
        if self.gpu_types is not None and (
            not isinstance(self.gpu_types, (list, tuple))
            or not all(isinstance(g, str) and g.strip() for g in self.gpu_types)
        ):
            raise InputError(f"gpu.gpu_types {self.gpu_types!r} must be a list of GPU names (see `gpucast gpus`)")
        if self.gpu_types is not None and not self.gpu_types:  # [] chose among every GPU, as if not given
            raise InputError("gpu.gpu_types [] names no GPU: give some GPU names, or leave it out (None) for every GPU")
        check_fraction("target_gpu_utilization (--target-gpu-utilization)", self.target_gpu_utilization)
        if self.target_gpu_utilization < MIN_TARGET_UTILIZATION:  # below it a plan is a fleet of idle GPUs
            raise InputError(
                f"target_gpu_utilization (--target-gpu-utilization) {self.target_gpu_utilization!r} must be between "
                f"{MIN_TARGET_UTILIZATION:g} and 1 (0.7 = average traffic uses 70% of a replica's full throughput)"
            )


def check_speculation(speculative_tokens: int, acceptance_rate: float | None, draft_model: str) -> None:
    """Speculative-decoding inputs, as ``inference`` and ``estimate`` take them (k, acceptance rate, proposer)."""
    k = speculative_tokens
    if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= 16:
        raise InputError(f"--speculative-tokens {k!r} must be a whole number from 0 (off) to 16")
    if k and acceptance_rate is None:
        raise InputError("--acceptance-rate is required with --speculative-tokens (e.g. 0.7)")
    if acceptance_rate is not None:
        check_fraction("--acceptance-rate", acceptance_rate, allow_zero=True)
    if not isinstance(draft_model, str) or not draft_model.strip():
        raise InputError(f"--draft-model {draft_model!r} must be 'mtp' or a catalog model name")


def check_speculation_given(given: dict[str, Any]) -> None:
    """A speculative-decoding setting given without ``--speculative-tokens`` (the flags, a config's or a REST body's
    serving section) was ignored with exit 0, as ``--kv-transfer-gb-s`` without ``--disaggregation`` is refused
    (QA 2026-12-07). An explicit ``speculative_tokens: 0`` is "off" and keeps the other settings, as the Python API
    does (a caller turning speculation off need not clear them)."""
    if given.get("speculative_tokens") is None:
        for key, flag in (("acceptance_rate", "--acceptance-rate"), ("draft_model", "--draft-model")):
            if given.get(key) is not None:
                raise InputError(f"{flag} {given[key]!r} describes speculative decoding: give --speculative-tokens K "
                                 "(1-16) with it")  # fmt: skip


@dataclass
class ServingOptions:
    """gpucast's additions: SLOs, cloud and pricing, headroom, sharding and engine limits."""

    cloud: str = "aws"
    pricing: str = "on-demand"
    ttft_slo_ms: float = 2000.0
    itl_slo_ms: float = 100.0
    target_latency_ms: float | None = None  # the seed's --target-latency: end-to-end per request
    safety_margin: float = 0.25
    min_replicas: int = 2
    tp: int | None = None
    pp: int | None = None
    ep: int | None = None  # expert-parallel groups (MoE; core.layout); None = searched
    attention_dp: int | None = None  # attention data-parallel groups (MoE; core.layout); None = searched
    gpu_memory_utilization: float | None = None  # None: the engine's default fraction (engines.toml)
    max_num_seqs: int | None = None  # None: the engine's default cap for the GPU (vLLM 256 or 1024, TensorRT-LLM 2048)
    require_slo: bool = False  # True: a plan no load can run within the SLOs is an error (CLI, REST), not a plan
    engine: str = "vllm"  # serving engine (engines.toml): its memory policy and fitted efficiency factors
    # the engine release ("0.7.3", "v0.4.3.post2"); None = the current one. A release older than the engine's current
    # MLA + MoE kernels runs DeepSeek-V3/R1 on the early ones (core.engine_era, calibration.toml [eras.*])
    engine_version: str | None = None
    speculative_tokens: int = 0  # k draft tokens per round; 0 = no speculative decoding
    acceptance_rate: float | None = None  # per-token acceptance alpha (required with speculative_tokens)
    draft_model: str = "mtp"  # "mtp" (MTP / EAGLE head: one layer) or a catalog model name
    disaggregation: bool = False  # also size separate prefill and decode pools
    kv_transfer_gb_s: float | None = None  # per GPU link for prefill->decode KV (default 50 GB/s: 400 Gb/s NIC)
    # issue 28: where to rent. clouds: several providers ("aws,lambda", a list, or "all"; None = just `cloud`);
    # region: only prices of that region; criticality: the service's tier (criticality.toml), which may forbid
    # interruptible capacity (spot, marketplace); price_max_age_days: older prices make the plan warn
    clouds: str | list[str] | None = None
    region: str | None = None
    criticality: str | None = None
    price_max_age_days: int = 90

    # the statistic the latency targets bound (core.tails): mean, 50, 90, 95, 99. p99 by default, as SLOs are stated
    # ("TTFT p99 under 2 s": MLPerf Inference's server constraints); `validate --plans` uses mean (measured means)
    slo_percentile: str = "99"

    def __post_init__(self) -> None:
        plain_numbers(self)

    def chosen_clouds(self, known_clouds: tuple[str, ...]) -> tuple[str, ...]:
        """The providers to search: ``clouds`` (comma list, list or "all") or else the one ``cloud``."""
        if self.clouds is None:
            return (self.cloud,)
        return parse_clouds(self.clouds, known_clouds)

    def validate(self, known_clouds: tuple[str, ...], known_engines: tuple[str, ...] = ("vllm",)) -> None:
        # names in any case ("AWS", "vLLM"), as --clouds, --gpu, --model and `estimate --engine` are read
        self.cloud, self.engine = fold_case(self.cloud), fold_case(self.engine)
        if not isinstance(self.cloud, str) or self.cloud not in known_clouds:
            raise InputError(f"--cloud {self.cloud!r} is not one of {', '.join(known_clouds)}")
        self.chosen_clouds(known_clouds)
        if not isinstance(self.engine, str) or self.engine not in known_engines:
            raise InputError(f"--engine {self.engine!r} is not one of {', '.join(known_engines)}")
        check_engine_version(self.engine_version)
        check_pricing(self.pricing)
        if self.region is not None and (not isinstance(self.region, str) or not self.region.strip()):
            raise InputError(f"--region {self.region!r} must be a region name (see `gpucast prices list`)")
        if self.criticality is not None and not isinstance(self.criticality, str):
            raise InputError(f"--criticality {self.criticality!r} must be a tier name such as tier1")
        check_positive("--price-max-age-days", self.price_max_age_days, integer=True, upper=36500)
        check_positive("--ttft-slo-ms", self.ttft_slo_ms, upper=1e7)
        try:
            check_percentile(self.slo_percentile)
        except ValueError as error:
            raise InputError(f"--slo-percentile {error}") from error
        check_positive("--itl-slo-ms", self.itl_slo_ms, upper=1e6)
        if self.target_latency_ms is not None:
            check_positive("--target-latency", self.target_latency_ms, upper=1e8)
        if (
            isinstance(self.safety_margin, bool)
            or not isinstance(self.safety_margin, (int, float))
            or not (0 <= self.safety_margin <= 10)
        ):
            raise InputError(f"--safety-margin {self.safety_margin!r} must be between 0 and 10 (0.25 = 25%)")
        check_positive("--min-replicas", self.min_replicas, integer=True, upper=100_000)
        for flag, value in (
            ("--tp", self.tp),
            ("--pp", self.pp),
            ("--ep", self.ep),
            ("--dp-attention", self.attention_dp),
        ):
            if value is not None:
                check_positive(flag, value, integer=True, upper=64 if flag == "--pp" else 256)
                if value & (value - 1):
                    raise InputError(f"{flag} {value!r} must be a power of two (1, 2, 4, 8, ...)")
        if self.gpu_memory_utilization is not None:
            check_fraction("--gpu-memory-utilization", self.gpu_memory_utilization)
        if self.max_num_seqs is not None:
            check_positive("--max-num-seqs", self.max_num_seqs, integer=True, upper=100_000)
        self._validate_new_options()

    def _validate_new_options(self) -> None:
        check_flag("--require-slo (require_slo)", self.require_slo)
        check_speculation(self.speculative_tokens, self.acceptance_rate, self.draft_model)
        check_flag("--disaggregation", self.disaggregation)
        if self.kv_transfer_gb_s is not None:
            check_positive("--kv-transfer-gb-s", self.kv_transfer_gb_s, upper=1e5)
            if not self.disaggregation:
                raise InputError(
                    f"--kv-transfer-gb-s {self.kv_transfer_gb_s:g} is the prefill-to-decode link of a disaggregated "
                    "plan: give --disaggregation with it"
                )


def serving_arguments(
    workload: object, model: object, gpu: object, options: object
) -> tuple[LLMWorkloadInput, ModelConfig, GPUConfig, ServingOptions]:
    """A serving planner's arguments checked to be the dataclasses it takes (a dict, a name or None for the
    workload was an AttributeError; ``gpu=False`` or ``{}`` was silently the default) and the defaults filled in
    for ``gpu``/``options`` None. ``plan_inference``, ``compare_gpu_options`` and the seed's engines share it."""
    if isinstance(workload, AgentWorkloadInput):  # exported beside the planners, but not a workload by itself
        raise InputError("workload is an AgentWorkloadInput: plan it as "
                         "LLMWorkloadInput.for_agent(agent, output_tokens=N), which derives the calls per second")  # fmt: skip
    return (
        check_instance("workload", workload, LLMWorkloadInput, "LLMWorkloadInput(requests_per_second=10, ...)"),
        *model_and_gpu(model, gpu),
        check_instance("options", ServingOptions() if options is None else options, ServingOptions,
                       'ServingOptions(cloud="aws") or None'),
    )  # fmt: skip


def model_and_gpu(model: object, gpu: object) -> tuple[ModelConfig, GPUConfig]:
    """The model and GPU arguments every planner takes (serving and training), checked to be their dataclasses;
    ``gpu`` None is the default GPUConfig (the cheapest GPU)."""
    return (
        check_instance("model", model, ModelConfig, 'ModelConfig(model_name="llama-3.1-8b")'),
        check_instance("gpu", GPUConfig() if gpu is None else gpu, GPUConfig, 'GPUConfig(gpu_type="H100") or None'),
    )
