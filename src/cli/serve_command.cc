#include "cli/serve_command.h"

#include <openssl/rand.h>

#include <atomic>
#include <cctype>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "api/grpc_server.h"
#include "api/rest_handler.h"
#include "api/rest_server.h"
#include "api/warmup_file.h"
#include "cli/builtin_backends.h"
#include "cli/byte_size.h"
#include "cli/rollout_serving.h"
#include "cli/security_flags.h"
#include "cli/table_stores.h"
#include "features/keyed_hash.h"
#include "fmt/format.h"
#include "serving/endpoint_config.h"
#include "serving/experiment/experiments.h"
#include "serving/experiment/feedback_endpoint.h"
#include "serving/experiment/shadow_endpoint.h"
#include "serving/feature_tables.h"
#include "serving/guarded_table_store.h"
#include "serving/hybrid_endpoint.h"
#include "serving/key_log.h"
#include "serving/served_features.h"
#include "serving/server_core.h"
#include "serving/split_endpoint.h"
#include "serving/static_endpoint.h"
#include "spdlog/spdlog.h"

namespace strata::cli {
namespace {

// Serving checks Redis table versions' content when they open.
TableStoreFlags ServeTableFlags() {
  TableStoreFlags flags;
  flags.verify_redis_content = true;
  return flags;
}

struct ServeFlags {
  std::string repository;
  std::string host = "127.0.0.1";
  uint16_t port = 8000;
  int grpc_port = 8001;  // -1: no gRPC frontend
  int http_threads = 0;
  std::string max_body_size = "64MiB";
  std::string body_memory_budget = "256MiB";  // all request bodies together
  int64_t body_timeout_ms = 10000;
  bool access_log = false;
  int64_t poll_interval_ms = 2000;
  bool control_api = false;
  std::string endpoints;  // the endpoints file; empty: models only
  std::string key_log;    // JSON Lines file of endpoints' request keys; empty: none
  double key_log_sample = 1;
  bool key_log_hash = false;
  bool workload_sketches = true;               // live sketches behind /v2/advisor
  bool lenient_readiness = false;              // ready once started, whatever the models
  TableStoreFlags tables = ServeTableFlags();  // where the endpoints' tables live
  int64_t redis_retry_ms = 1000;               // how long a failing Redis is not asked
  int redis_lookup_threads = 4;                // threads that continue after Redis lookups
  double drain_delay_s = 0;                    // serve on, not ready, after SIGTERM
  double drain_timeout_s = 30;                 // then let in-flight requests finish
  // Models with a features.yaml (docs/features.md, "Serving with features").
  std::string feature_store = "rocksdb";  // where feature tables are: rocksdb or redis
  int64_t feature_timeout_ms = 100;       // longest feature lookup of a request; 0: none
  std::string feature_log;                // served-feature log (JSON Lines); empty: none
  double feature_log_sample = 0.01;
  std::string feature_log_secret;  // the keyed hash's secret file
  SecurityFlags security;          // TLS, admin port, API keys
  std::string trusted_key;         // Ed25519 public key (PEM) versions must be signed by
  std::string key_hash_secret;     // HMAC secret of keys in the key log and sketches
  bool key_log_raw_keys = false;   // raw keys in the key log and sketches (opt-in)
  std::string audit_log;           // JSON Lines of control API calls; empty: none
  RolloutServeFlags rollouts;      // where rollout state lives, how often rollouts are judged
  std::string payload_log;         // JSON Lines of redacted payloads; empty: none
  std::string payload_log_policy;  // the redaction policy (YAML)
  double payload_log_sample = 0.01;
  std::string payload_log_max_size = "64MiB";  // then rotated to FILE.1
};

std::chrono::milliseconds Millis(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

// The gRPC frontend's part in the drain sequence: it closes and finishes
// its in-flight calls (at most its drain timeout) on a thread of its own,
// when the REST listener closes, so that both frontends drain at once.
struct GrpcDrain {
  std::unique_ptr<api::GrpcServer> server;  // null when gRPC is off
  std::thread thread;

  void Begin() {
    if (server && !thread.joinable()) thread = std::thread([this] { server->Shutdown(); });
  }
  void Finish() {
    if (thread.joinable()) thread.join();
    if (server) server->Shutdown();
  }
};

// What LoadEndpoints() made: the endpoints, the stores they read through a
// guard (Redis), and the registry that follows their tables.
struct LoadedEndpoints {
  std::vector<std::shared_ptr<serving::Endpoint>> endpoints;
  std::vector<std::shared_ptr<serving::GuardedTableStore>> guarded_stores;
  std::shared_ptr<serving::TableRegistry> tables;
  std::vector<std::shared_ptr<serving::SplitEndpoint>> splits;  // also in `endpoints`
  // The splits of `policy: thompson` (not in `splits`: no rollouts on them).
  std::vector<serving::ThompsonSplit> thompson;
  // Feedback and shadows of the endpoints that have them.
  std::shared_ptr<serving::Experiments> experiments = std::make_shared<serving::Experiments>();
};

// The table store of kind `kind`; a Redis store behind a guard (its own
// lookup threads and a circuit breaker), so a hung Redis never holds a
// request thread.
absl::StatusOr<std::shared_ptr<store::TableStore>> CreateServingStore(const ServeFlags& flags,
                                                                      const std::string& kind,
                                                                      LoadedEndpoints& loaded) {
  TableStoreFlags store_flags = flags.tables;
  store_flags.store = kind;
  absl::StatusOr<std::unique_ptr<store::TableStore>> created =
      CreateTableStore(store_flags, flags.repository);
  if (!created.ok()) return created.status();
  if (kind != "redis") return std::shared_ptr<store::TableStore>(*std::move(created));
  const auto timeout = std::chrono::milliseconds(flags.tables.redis_timeout_ms);
  auto guarded = std::make_shared<serving::GuardedTableStore>(
      *std::move(created),
      serving::GuardedTableStoreOptions{
          .name = kind,
          .breaker = {.max_failures = 3,
                      .hang_after = timeout / 2,
                      .open_for = std::chrono::milliseconds(flags.redis_retry_ms)},
          .executor = {.threads = flags.redis_lookup_threads, .max_queue = 1024}});
  loaded.guarded_stores.push_back(guarded);
  return std::shared_ptr<store::TableStore>(std::move(guarded));
}

// A hybrid or dynamic endpoint; a hybrid one's table is followed by the
// registry.
absl::StatusOr<std::shared_ptr<serving::Endpoint>> MakeHybridEndpoint(
    const serving::EndpointConfig& config, const std::shared_ptr<store::TableStore>& store,
    LoadedEndpoints& loaded) {
  serving::HybridEndpointConfig hybrid{
      .name = config.name,
      .model = config.model,
      .table = config.table,  // empty for dynamic
      .key = config.key,
      .cache_max_bytes = config.cache_max_bytes,
      .cache_ttl = std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::duration<double>(config.cache_ttl_s)),
      .plan = config.plan,
      .table_in_memory_bytes = config.table_in_memory_bytes};
  if (!hybrid.table.empty()) {
    absl::Status s = loaded.tables->Follow(hybrid.table, hybrid.FollowOptions(store));
    if (!s.ok()) return s;
  }
  return std::make_shared<serving::HybridEndpoint>(loaded.tables, hybrid);
}

// `endpoint` behind its decorators: the shadow, when configured, and the
// prediction log of feedback (on by default for split endpoints).
std::shared_ptr<serving::Endpoint> WithExperiments(
    std::shared_ptr<serving::Endpoint> endpoint, const serving::EndpointConfig& config,
    const std::shared_ptr<serving::Experiments>& experiments) {
  if (!config.shadow && !config.feedback) return endpoint;
  std::optional<serving::FeedbackOptions> feedback;
  if (config.feedback) {
    feedback = serving::FeedbackOptions{
        .log = {.retention = config.feedback->retention,
                .max_age = std::chrono::seconds(config.feedback->max_age_s)},
        .task = config.feedback->task};
  }
  experiments->Add(config.name, feedback);
  if (config.shadow) {
    endpoint = std::make_shared<serving::ShadowEndpoint>(
        std::move(endpoint),
        serving::ShadowOptions{.model = config.shadow->model,
                               .version = config.shadow->version,
                               .live_model = config.shadow->live_model,
                               .share = config.shadow->share,
                               .queue = config.shadow->queue,
                               .admission = {.max_in_flight = config.shadow->max_in_flight,
                                             .cpu_share = config.shadow->cpu_share}},
        experiments);
  }
  if (config.feedback)
    endpoint = std::make_shared<serving::FeedbackEndpoint>(std::move(endpoint), experiments);
  return endpoint;
}

// A split endpoint, once each arm's model (and numbered version) is in the
// model repository's models/ directory: a typo in an arm fails the start,
// not its requests.
absl::StatusOr<std::shared_ptr<serving::SplitEndpoint>> MakeSplitEndpoint(
    const ServeFlags& flags, const serving::EndpointConfig& config,
    const std::map<std::string, std::shared_ptr<serving::Endpoint>, std::less<>>& plans) {
  serving::SplitEndpointConfig split{.name = config.name,
                                     .arms = {},
                                     .sticky_key = config.sticky_key,
                                     .sticky_header = config.sticky_header,
                                     .salt = config.salt};
  const std::filesystem::path repository(flags.repository);
  for (const serving::SplitArmConfig& arm : config.arms) {
    if (!arm.endpoint.empty()) {  // built before: the configs come in that order
      split.endpoints[arm.endpoint] = plans.at(arm.endpoint);
      split.arms.push_back({.name = arm.name,
                            .model = "",
                            .version = "",
                            .weight = arm.weight,
                            .endpoint = arm.endpoint});
      continue;
    }
    const bool numbered = !arm.version.empty() && std::isdigit(arm.version[0]);
    const std::filesystem::path in_models = numbered
                                                ? repository / "models" / arm.model / arm.version
                                                : repository / "models" / arm.model;
    std::error_code ec;
    if (std::filesystem::is_directory(repository / "models", ec) &&
        !std::filesystem::is_directory(in_models, ec)) {
      return absl::InvalidArgumentError(
          fmt::format("{}: endpoint '{}': arm '{}': model '{}'{} is not in the model repository {}",
                      flags.endpoints, config.name, arm.name, arm.model,
                      numbered ? " version " + arm.version : "", flags.repository));
    }
    split.arms.push_back(
        {.name = arm.name, .model = arm.model, .version = arm.version, .weight = arm.weight});
  }
  absl::StatusOr<std::unique_ptr<serving::SplitEndpoint>> endpoint =
      serving::SplitEndpoint::Create(std::move(split));
  if (!endpoint.ok()) return endpoint.status();
  return std::shared_ptr<serving::SplitEndpoint>(*std::move(endpoint));
}

// The plan of `config` (a split's arms naming endpoints of `plans`); a
// split is also kept in `loaded.splits`, and a table is followed by
// `loaded.tables`.
absl::StatusOr<std::shared_ptr<serving::Endpoint>> MakePlan(
    const ServeFlags& flags, const serving::EndpointConfig& config,
    const std::shared_ptr<store::TableStore>& store,
    const std::map<std::string, std::shared_ptr<serving::Endpoint>, std::less<>>& plans,
    LoadedEndpoints& loaded) {
  if (config.plan == serving::PlanKind::kSplit) {
    absl::StatusOr<std::shared_ptr<serving::SplitEndpoint>> split =
        MakeSplitEndpoint(flags, config, plans);
    if (!split.ok()) return split.status();
    if (config.split_policy == serving::SplitPolicy::kThompson) {
      absl::StatusOr<serving::ThompsonPolicy> policy =
          serving::ThompsonPolicy::Create({.min_share = config.min_share, .draws = 2000});
      if (!policy.ok()) return policy.status();
      loaded.thompson.push_back({.endpoint = *split, .policy = *std::move(policy)});
    } else {
      loaded.splits.push_back(*split);
    }
    return std::shared_ptr<serving::Endpoint>(*std::move(split));
  }
  if (config.plan != serving::PlanKind::kStatic) return MakeHybridEndpoint(config, store, loaded);
  serving::StaticEndpointConfig static_config{
      .name = config.name,
      .table = config.table,
      .default_value = config.default_value,
      .default_when_unavailable = config.default_when_unavailable,
      .key = config.key,
      .pin_max_bytes = config.table_in_memory_bytes};
  absl::Status s = loaded.tables->Follow(
      config.table, serving::StaticEndpoint::FollowOptions(static_config, store));
  if (!s.ok()) return s;
  return std::make_shared<serving::StaticEndpoint>(static_config, loaded.tables);
}

// The endpoints of the --endpoints file, with one table store per kind.
// An endpoint whose table does not open yet starts not ready.
absl::StatusOr<LoadedEndpoints> LoadEndpoints(const ServeFlags& flags) {
  LoadedEndpoints loaded;
  std::map<std::string, std::shared_ptr<store::TableStore>> stores;
  // The `--store` store: where tables no endpoint names (feature tables,
  // the control API's load) are opened from.
  absl::StatusOr<std::shared_ptr<store::TableStore>> default_store =
      CreateServingStore(flags, flags.tables.store, loaded);
  if (default_store.ok()) stores[flags.tables.store] = *default_store;
  loaded.tables = std::make_shared<serving::TableRegistry>(serving::TableRegistryOptions{
      .default_store = default_store.value_or(nullptr),
      .poll_interval = std::chrono::milliseconds(flags.poll_interval_ms)});
  std::vector<std::shared_ptr<serving::Endpoint>>& endpoints = loaded.endpoints;
  // Each endpoint's plan without its decorators, by name: what split arms
  // naming it answer through.
  std::map<std::string, std::shared_ptr<serving::Endpoint>, std::less<>> plans;
  if (flags.endpoints.empty()) return loaded;
  absl::StatusOr<std::vector<serving::EndpointConfig>> configs =
      serving::ReadEndpointConfigs(flags.endpoints);
  if (!configs.ok()) return configs.status();
  for (const serving::EndpointConfig& config : *configs) {
    const bool no_table =
        config.plan == serving::PlanKind::kDynamic || config.plan == serving::PlanKind::kSplit;
    std::shared_ptr<store::TableStore> no_store;  // plans dynamic and split read no table
    std::shared_ptr<store::TableStore>& store = no_table ? no_store : stores[config.store];
    if (!store && !no_table) {
      absl::StatusOr<std::shared_ptr<store::TableStore>> created =
          CreateServingStore(flags, config.store, loaded);
      if (!created.ok()) return created.status();
      store = *std::move(created);
    }
    absl::StatusOr<std::shared_ptr<serving::Endpoint>> plan =
        MakePlan(flags, config, store, plans, loaded);
    if (!plan.ok()) return plan.status();
    plans[config.name] = *plan;
    endpoints.push_back(WithExperiments(*std::move(plan), config, loaded.experiments));
  }
  loaded.tables->RefreshAll();  // the first versions open before the server starts
  return loaded;
}

// The feature tables, deadline and log of models with a features.yaml. The
// feature tables are servables of the same registry as the endpoints'
// tables, read from --feature-store.
absl::StatusOr<serving::FeatureServices> LoadFeatureServices(const ServeFlags& flags,
                                                             LoadedEndpoints& loaded) {
  serving::FeatureServices services;
  if (!flags.feature_log.empty()) {
    if (flags.feature_log_secret.empty()) {
      return absl::InvalidArgumentError(
          "--feature-log needs --feature-log-secret FILE (entity keys are logged as keyed "
          "hashes, never raw)");
    }
    absl::StatusOr<std::unique_ptr<serving::FeatureLog>> log =
        serving::FeatureLog::Open({.file = flags.feature_log,
                                   .secret = flags.feature_log_secret,
                                   .sample_rate = flags.feature_log_sample});
    if (!log.ok()) return log.status();
    services.log = *std::move(log);
  }
  services.timeout = std::chrono::milliseconds(flags.feature_timeout_ms);
  services.timer = std::make_shared<serving::FeatureDeadlineTimer>();
  std::shared_ptr<store::TableStore> store;  // null: the registry's default store
  if (flags.feature_store != flags.tables.store) {
    absl::StatusOr<std::shared_ptr<store::TableStore>> created =
        CreateServingStore(flags, flags.feature_store, loaded);
    if (!created.ok()) {  // models without features do not need it
      spdlog::warn("feature tables ({}): {}", flags.feature_store,
                   std::string(created.status().message()));
      return services;
    }
    store = *std::move(created);
  }
  auto tables = std::make_shared<serving::FeatureTables>(loaded.tables, std::move(store));
  services.follow_table = [tables](std::string_view table) {
    if (absl::Status s = tables->Follow(table); !s.ok()) {
      spdlog::warn("feature table '{}': {}", table, std::string(s.message()));
    }
  };
  services.tables = std::move(tables);
  return services;
}

// A failed start: the message and the process's exit code (2: a flag or
// config is wrong; 1: a part did not start).
struct StartError {
  absl::Status status;
  int exit_code;
};

// `strata serve` as a composition of its parts, each built by one function
// in the order they depend on each other: the limits of the flags, the
// endpoints and their stores, the key log, the core, the REST and gRPC
// frontends; then it serves until a signal and drains. A new part is a
// member and a Build/Start function called from Start().
class ServeProcess {
 public:
  explicit ServeProcess(const ServeFlags& flags) : flags_(flags) {}

  // Builds and starts every part; the first failure stops the start.
  std::optional<StartError> Start() {
    if (absl::Status s = ParseLimits(); !s.ok()) return StartError{s, 2};
    if (absl::Status s = BuildEndpoints(); !s.ok()) return StartError{s, 2};
    if (absl::Status s = BuildFeatureServices(); !s.ok()) return StartError{s, 2};
    if (absl::Status s = BuildKeyHasher(); !s.ok()) return StartError{s, 2};
    if (absl::Status s = OpenKeyLog(); !s.ok()) return StartError{s, 2};
    if (absl::Status s = OpenAuditLog(); !s.ok()) return StartError{s, 2};
    if (absl::Status s = OpenPayloadLog(); !s.ok()) return StartError{s, 2};
    if (absl::Status s = OpenGuard(); !s.ok()) return StartError{s, 2};
    if (absl::Status s = BuildCore(); !s.ok()) return StartError{s, 1};
    CountReadyModels();
    if (absl::Status s = StartRollouts(); !s.ok()) return StartError{s, 2};
    if (absl::Status s = StartRest(); !s.ok()) return StartError{s, 1};
    if (absl::Status s = StartGrpc(); !s.ok()) return StartError{s, 1};
    return std::nullopt;
  }

  // Serves until SIGINT/SIGTERM, then drains the frontends (both at once)
  // and unloads the models.
  void ServeUntilDrained() {
    LogEndpoints();
    spdlog::info("{} of {} models ready; listening on {}://{}:{}", ready_models_, model_count_,
                 flags_.security.tls.enabled() ? "https" : "http", flags_.host, rest_->port());
    if (rest_->admin_port()) {
      spdlog::info("admin routes (/metrics, /, /v2/repository) on port {}", *rest_->admin_port());
    }
    rest_->Run();
    grpc_.Finish();
    spdlog::info("frontends drained; unloading models");
    rest_.reset();
    rollouts_.reset();  // its timer reads the core
    thompson_.reset();
    core_.reset();
    spdlog::info("stopped");
  }

 private:
  absl::Status ParseLimits() {
    const std::optional<size_t> max_body = ParseByteSize(flags_.max_body_size);
    if (!max_body || *max_body == 0) {
      return absl::InvalidArgumentError(fmt::format(
          "--max-body-size '{}' is not a size; use e.g. 64MiB or 1048576", flags_.max_body_size));
    }
    const std::optional<size_t> body_budget = ParseByteSize(flags_.body_memory_budget);
    if (!body_budget || *body_budget < *max_body) {
      return absl::InvalidArgumentError(
          fmt::format("--body-memory-budget '{}' must be a size of at least --max-body-size ({})",
                      flags_.body_memory_budget, flags_.max_body_size));
    }
    max_body_ = *max_body;
    body_budget_ = *body_budget;
    return absl::OkStatus();
  }

  absl::Status BuildEndpoints() {
    absl::StatusOr<LoadedEndpoints> loaded = LoadEndpoints(flags_);
    if (!loaded.ok()) return loaded.status();
    endpoints_ = *std::move(loaded);
    return absl::OkStatus();
  }

  absl::Status BuildFeatureServices() {
    absl::StatusOr<serving::FeatureServices> features = LoadFeatureServices(flags_, endpoints_);
    if (!features.ok()) return features.status();
    features_ = *std::move(features);
    return absl::OkStatus();
  }

  // Keys in the key log and the live sketches are keyed hashes (HMAC-SHA256)
  // unless --key-log-raw-keys: with --key-hash-secret's secret, else with a
  // random secret of this process (hashes do not join across restarts).
  // The payload log's hashed fields use the same keyed hash, whatever
  // --key-log-raw-keys says.
  absl::Status BuildKeyHasher() {
    std::optional<features::KeyedHasher> hasher;
    if (!flags_.key_hash_secret.empty()) {
      absl::StatusOr<features::KeyedHasher> read =
          features::KeyedHasher::FromFile(flags_.key_hash_secret);
      if (!read.ok()) return read.status();
      hasher.emplace(*std::move(read));
      spdlog::info(
          "keys in the key log and live sketches are hashed (HMAC-SHA256, "
          "--key-hash-secret)");
    } else {
      unsigned char secret[32];
      if (RAND_bytes(secret, sizeof(secret)) != 1) {
        return absl::InternalError("cannot generate a key hash secret");
      }
      hasher.emplace(std::string(reinterpret_cast<const char*>(secret), sizeof(secret)));
      spdlog::info(
          "keys in the key log and live sketches are hashed with an ephemeral "
          "per-process secret (give --key-hash-secret FILE for stable hashes)");
    }
    hasher_ = [hasher = *std::move(hasher)](std::string_view key) { return hasher.Hash(key); };
    if (flags_.key_log_raw_keys) {
      spdlog::warn("--key-log-raw-keys: the key log and live sketches hold raw key values");
      return absl::OkStatus();
    }
    key_hasher_ = hasher_;
    return absl::OkStatus();
  }

  absl::Status OpenKeyLog() {
    if (flags_.key_log.empty()) return absl::OkStatus();
    absl::StatusOr<std::unique_ptr<serving::KeyLog>> opened =
        serving::KeyLog::Open({.path = flags_.key_log,
                               .sample = flags_.key_log_sample,
                               .hash = flags_.key_log_hash,
                               .key_hasher = key_hasher_});
    if (!opened.ok()) return opened.status();
    key_log_ = *std::move(opened);
    return absl::OkStatus();
  }

  absl::Status OpenGuard() {
    absl::StatusOr<std::unique_ptr<api::AccessGuard>> guard = OpenAccessGuard(flags_.security);
    if (!guard.ok()) return guard.status();
    guard_ = *std::move(guard);
    return absl::OkStatus();
  }

  absl::Status OpenAuditLog() {
    if (flags_.audit_log.empty()) return absl::OkStatus();
    absl::StatusOr<std::unique_ptr<api::AuditLog>> opened = api::AuditLog::Open(flags_.audit_log);
    if (!opened.ok()) return opened.status();
    audit_log_ = *std::move(opened);
    return absl::OkStatus();
  }

  absl::Status OpenPayloadLog() {
    if (flags_.payload_log.empty()) return absl::OkStatus();
    absl::StatusOr<std::unique_ptr<api::PayloadLog>> opened =
        OpenPayloadLogFile(flags_.payload_log, flags_.payload_log_policy, flags_.payload_log_sample,
                           flags_.payload_log_max_size, hasher_);
    if (!opened.ok()) return opened.status();
    payload_log_ = *std::move(opened);
    return absl::OkStatus();
  }

  absl::Status BuildCore() {
    absl::StatusOr<std::unique_ptr<serving::ServerCore>> core = serving::ServerCore::Create(
        {.repository = flags_.repository,
         .poll_interval = std::chrono::milliseconds(flags_.poll_interval_ms),
         .warmup_reader = api::ReadWarmupFile,
         .endpoints = std::move(endpoints_.endpoints),
         .guarded_stores = std::move(endpoints_.guarded_stores),
         .tables = endpoints_.tables,
         .key_log = key_log_,
         .workload_sketches = flags_.workload_sketches,
         .workload = {.key_hasher = key_hasher_},
         .lenient_readiness = flags_.lenient_readiness,
         .features = std::move(features_),
         .artifact_verifier = flags_.tables.artifact_verifier},
        backends_);
    if (!core.ok()) return core.status();
    core_ = *std::move(core);
    return absl::OkStatus();
  }

  absl::Status StartRollouts() {
    cli::RolloutServeFlags rollouts = flags_.rollouts;
    if (rollouts.checks && flags_.security.tls.enabled()) {
      spdlog::warn("rollouts: the pre-traffic checks speak plain HTTP; with TLS they are off");
      rollouts.checks = false;
    }
    // Checks run on the rollout's thread once the REST listener is up.
    cli::SelfUrl self_url = [this]() -> std::optional<std::string> {
      const uint16_t port = rest_port_.load();
      if (port == 0) return std::nullopt;
      return fmt::format("http://127.0.0.1:{}", port);
    };
    absl::StatusOr<std::unique_ptr<serving::RolloutManager>> started =
        cli::StartRollouts(rollouts, flags_.repository, *core_, std::move(self_url),
                           endpoints_.experiments, std::move(endpoints_.splits));
    if (!started.ok()) return started.status();
    rollouts_ = *std::move(started);
    if (!endpoints_.thompson.empty()) {
      thompson_ = std::make_unique<cli::ThompsonRouting>(
          std::make_unique<serving::ThompsonRouter>(std::move(endpoints_.thompson),
                                                    endpoints_.experiments, std::random_device{}()),
          std::chrono::milliseconds(flags_.rollouts.tick_ms));
    }
    return absl::OkStatus();
  }

  // Counts the models ready once the core has loaded them; the views are not
  // kept, as holding them would keep their versions loaded.
  void CountReadyModels() {
    const auto models = core_->models();
    for (const auto& model : models) ready_models_ += model->ready();
    model_count_ = models.size();
  }

  absl::Status StartRest() {
    const bool admin = flags_.security.admin_port >= 0;
    handler_ = std::make_unique<api::RestHandler>(
        *core_, api::RestHandlerOptions{
                    .control_api = flags_.control_api,
                    .listener = admin ? api::RestListener::kPublic : api::RestListener::kAll,
                    .guard = guard_.get(),
                    .audit_log = audit_log_,
                    .rollouts = rollouts_.get(),
                    .experiments = endpoints_.experiments.get(),
                    .payload_log = payload_log_});
    if (admin) {
      admin_handler_ = std::make_unique<api::RestHandler>(
          *core_, api::RestHandlerOptions{.control_api = flags_.control_api,
                                          .listener = api::RestListener::kAdmin,
                                          .guard = guard_.get(),
                                          .audit_log = audit_log_,
                                          .rollouts = rollouts_.get(),
                                          .experiments = endpoints_.experiments.get()});
    }
    api::RestServerOptions options{
        .host = flags_.host,
        .port = flags_.port,
        .threads = flags_.http_threads,
        .max_body_bytes = max_body_,
        .body_memory_budget = body_budget_,
        .body_timeout = std::chrono::milliseconds(flags_.body_timeout_ms),
        .drain_delay = Millis(flags_.drain_delay_s),
        .drain_timeout = Millis(flags_.drain_timeout_s),
        .on_drain = [this] { core_->BeginDrain(); },
        .on_close = [this] { grpc_.Begin(); },
        .access_log = flags_.access_log,
        .metrics = &core_->metrics(),
        .tls = flags_.security.tls,
        .tls_reload_interval = std::chrono::milliseconds(flags_.security.reload_interval_ms),
        .admin_port = static_cast<uint16_t>(std::max(0, flags_.security.admin_port))};
    absl::StatusOr<std::unique_ptr<api::RestServer>> server =
        api::RestServer::Start(options, *handler_, admin_handler_.get());
    if (!server.ok()) return server.status();
    rest_ = *std::move(server);
    rest_port_.store(rest_->port());
    return absl::OkStatus();
  }

  absl::Status StartGrpc() {
    if (flags_.grpc_port < 0) return absl::OkStatus();
    absl::StatusOr<std::unique_ptr<api::GrpcServer>> started = api::GrpcServer::Start(
        {.host = flags_.host,
         .port = static_cast<uint16_t>(flags_.grpc_port),
         .max_message_bytes = max_body_,
         .drain_timeout = Millis(flags_.drain_timeout_s),
         .control_api = flags_.control_api,
         .control_on_admin_port = flags_.security.admin_port >= 0,
         .metrics = &core_->metrics(),
         .tls = flags_.security.tls,
         .tls_reload_seconds =
             static_cast<unsigned>(std::max<int64_t>(1, flags_.security.reload_interval_ms / 1000)),
         .guard = guard_.get(),
         .payload_log = payload_log_,
         .rollouts = rollouts_.get(),
         .audit_log = audit_log_},
        *core_);
    if (!started.ok()) return started.status();
    grpc_.server = *std::move(started);
    spdlog::info("gRPC listening on {}:{}", flags_.host, grpc_.server->port());
    return absl::OkStatus();
  }

  void LogEndpoints() const {
    auto number = [](const std::optional<int64_t>& v) {
      return v ? std::to_string(*v) : std::string("none");
    };
    for (const serving::Endpoint* endpoint : core_->endpoints()) {
      const serving::EndpointDescription d = endpoint->Describe();
      const std::optional<int64_t> table_version = d.table && d.table->version != 0
                                                       ? std::optional<int64_t>(d.table->version)
                                                       : std::nullopt;
      const std::string what =
          d.plan == serving::PlanKind::kHybrid || d.plan == serving::PlanKind::kSplit
              ? fmt::format("model '{}' version {}, table version {}", d.model,
                            number(d.model_version), number(table_version))
              : "table version " + number(table_version);
      spdlog::info("endpoint '{}' ({}): {}", d.name, serving::PlanName(d.plan),
                   d.ready ? what + " ready" : "not ready: " + d.reason);
    }
  }

  const ServeFlags& flags_;
  size_t max_body_ = 0;
  size_t body_budget_ = 0;
  LoadedEndpoints endpoints_;  // moved into the core
  std::shared_ptr<serving::KeyLog> key_log_;
  std::shared_ptr<api::AuditLog> audit_log_;
  std::shared_ptr<api::PayloadLog> payload_log_;
  serving::KeyHasher hasher_;      // the keyed hash (HMAC-SHA256) of this process
  serving::KeyHasher key_hasher_;  // null: raw keys (--key-log-raw-keys)
  serving::FeatureServices features_;
  const runtime::BackendRegistry backends_ = BuiltinBackends();
  std::unique_ptr<serving::ServerCore> core_;
  std::unique_ptr<serving::RolloutManager> rollouts_;  // null: no split endpoint
  std::unique_ptr<cli::ThompsonRouting> thompson_;     // null: no split of policy thompson
  int ready_models_ = 0;
  size_t model_count_ = 0;
  std::unique_ptr<api::AccessGuard> guard_;  // null: no keys file
  std::unique_ptr<api::RestHandler> handler_;
  std::unique_ptr<api::RestHandler> admin_handler_;  // null: no admin port
  GrpcDrain grpc_;
  std::unique_ptr<api::RestServer> rest_;
  std::atomic<uint16_t> rest_port_{0};  // rest_'s port once it listens
};

// The verifier every model and RocksDB table version is checked by
// (store/artifact_verifier.h): with --trusted-key, signatures are required.
absl::StatusOr<std::shared_ptr<const store::ArtifactVerifier>> LoadArtifactVerifier(
    const ServeFlags& flags) {
  if (flags.trusted_key.empty()) {
    spdlog::info(
        "versions are checked against their SHA256SUMS when they have one; "
        "no trusted key, so signatures are not required");
    return std::make_shared<const store::ArtifactVerifier>();
  }
  absl::StatusOr<std::shared_ptr<const store::ArtifactVerifier>> verifier =
      store::ArtifactVerifier::WithTrustedKeyFile(flags.trusted_key);
  if (verifier.ok()) {
    spdlog::info("model and table versions must carry a SHA256SUMS signed by --trusted-key {}",
                 flags.trusted_key);
  }
  return verifier;
}

int RunServe(const ServeFlags& given) {
  ServeFlags flags = given;
  absl::StatusOr<std::shared_ptr<const store::ArtifactVerifier>> verifier =
      LoadArtifactVerifier(flags);
  if (!verifier.ok()) {
    spdlog::error("{}", std::string(verifier.status().message()));
    return 2;
  }
  flags.tables.artifact_verifier = *verifier;
  ServeProcess process(flags);
  if (std::optional<StartError> error = process.Start()) {
    spdlog::error("{}", std::string(error->status.message()));
    return error->exit_code;
  }
  process.ServeUntilDrained();
  return 0;
}

// The model repository and how it is watched and controlled.
// The pre-traffic checks a rollout's candidate passes (docs/checks.md).
void AddRolloutCheckFlags(CLI::App& serve, RolloutServeFlags& flags) {
  serve.add_flag("!--no-rollout-checks", flags.checks,
                 "Start rollouts without the pre-traffic checks (`strata check`) of the candidate");
  serve.add_option("--rollout-check-key", flags.check_key_file,
                   "A file holding an API key (infer and metrics scopes) the pre-traffic "
                   "checks send when --keys-file is on");
  serve
      .add_option("--rollout-check-rate", flags.check_rate,
                  "Pre-traffic load check: requests per second")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  serve.add_option("--rollout-check-ms", flags.check_ms, "Pre-traffic load check: duration")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  serve
      .add_option("--rollout-check-p99-ms", flags.check_p99_ms,
                  "Pre-traffic load check: the p99 objective")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
}

void AddRepositoryFlags(CLI::App& serve, ServeFlags& flags) {
  serve
      .add_option("-r,--repository", flags.repository,
                  "Model repository: a directory holding models/<name>/config.yaml "
                  "and models/<name>/<version>/")
      ->required()
      ->check(CLI::ExistingDirectory);
  serve
      .add_option("--poll-interval-ms", flags.poll_interval_ms,
                  "How often the repository is scanned for new versions and changed "
                  "configs; 0 disables watching")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  serve.add_option("--audit-log", flags.audit_log,
                   "Append one JSON line per control API call (time, remote address, action, "
                   "target, status, outcome) to this file");
  serve.add_flag("--control-api", flags.control_api,
                 "Enable model control: POST /v2/repository/index and "
                 "/v2/repository/models/{m}/{load,unload,rollback,default,labels}, "
                 "and the gRPC RepositoryIndex and RepositoryModelLoad/Unload");
  serve.add_option("--state-dir", flags.rollouts.state_dir,
                   "Where rollouts keep their state, so that a restart resumes them "
                   "(default: <repository>/.strata/rollouts)");
  serve
      .add_option("--rollout-tick-ms", flags.rollouts.tick_ms,
                  "How often running rollouts are judged (docs/serving.md: Rollouts)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  AddRolloutCheckFlags(serve, flags.rollouts);
  serve.add_flag("--lenient-readiness", flags.lenient_readiness,
                 "Answer /v2/health/ready and ServerReady true once started, even when a "
                 "model or endpoint is not ready (default: ready only when all are)");
}

// The REST and gRPC listeners and what they accept.
void AddFrontendFlags(CLI::App& serve, ServeFlags& flags) {
  serve.add_option("--host", flags.host, "Address to listen on")->capture_default_str();
  serve.add_option("-p,--port", flags.port, "HTTP port (0 picks a free one)")
      ->capture_default_str();
  serve
      .add_option("--grpc-port", flags.grpc_port,
                  "gRPC port (0 picks a free one, -1 turns gRPC off)")
      ->capture_default_str()
      ->check(CLI::Range(-1, 65535));
  serve.add_option("--http-threads", flags.http_threads, "HTTP I/O threads; 0 means one per core")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  serve
      .add_option("--max-body-size", flags.max_body_size,
                  "Largest request body accepted; larger ones get 413")
      ->capture_default_str();
  serve
      .add_option("--body-memory-budget", flags.body_memory_budget,
                  "Memory for the request bodies of all connections together, as "
                  "received and as inflated; beyond it requests get 503 with Retry-After")
      ->capture_default_str();
  serve
      .add_option("--body-timeout-ms", flags.body_timeout_ms,
                  "A request body that stops arriving for this long closes its connection")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  serve.add_flag("--access-log", flags.access_log,
                 "Write one JSON line per request to stdout (latency, model, "
                 "version, status; never the payload)");
}

// The endpoints file, and what is recorded of the keys endpoints are asked for.
void AddEndpointFlags(CLI::App& serve, ServeFlags& flags) {
  serve
      .add_option("--endpoints", flags.endpoints,
                  "Endpoints file (YAML, `endpoints:` map): names served by a plan, e.g. "
                  "static lookups in a prediction table (docs/tables.md: Static endpoints)")
      ->check(CLI::ExistingFile);
  serve.add_option("--key-log", flags.key_log,
                   "Append the keys of the rows endpoints are asked for to this JSON Lines "
                   "file, the format `strata advise --key-log` reads (never payloads)");
  serve
      .add_option("--key-log-sample", flags.key_log_sample,
                  "Share of rows written to the key log, in (0, 1]")
      ->capture_default_str();
  serve.add_flag("--key-log-hash", flags.key_log_hash,
                 "With --key-log-raw-keys: write a 64-bit fingerprint of each key instead "
                 "of its values (keys are keyed hashes by default)");
  serve
      .add_option("--key-hash-secret", flags.key_hash_secret,
                  "File holding the secret (at least 16 bytes) of the keyed hash "
                  "(HMAC-SHA256) the key log and live sketches write instead of keys; "
                  "default: a random secret per process")
      ->check(CLI::ExistingFile);
  serve.add_flag("--key-log-raw-keys", flags.key_log_raw_keys,
                 "Write raw key values to the key log and the live sketches (and allow "
                 "exporting hot keys) instead of keyed hashes");
  serve.add_flag("--workload-sketches,!--no-workload-sketches", flags.workload_sketches,
                 "Keep a live workload sketch (requests, distinct keys, heavy hitters, "
                 "entropy; about 4 MiB, at most 6.5 MiB) per endpoint with key columns, "
                 "served at /v2/advisor/{endpoint} and in /metrics, read by "
                 "`strata advise --server` (default: on)");
}

// Where the endpoints' tables live, and how a failing Redis is guarded.
void AddTableStoreServeFlags(CLI::App& serve, ServeFlags& flags) {
  serve.add_option("--tables", flags.tables.tables,
                   "RocksDB tables directory for static endpoints (default: "
                   "<repository>/tables)");
  serve
      .add_option("--redis", flags.tables.redis,
                  "Redis server for endpoints whose table is in Redis (store: redis): "
                  "redis://host:port[/db], or unix:///path/to.sock[?db=N] for a Redis on "
                  "this machine (a shorter round trip)")
      ->capture_default_str();
  serve
      .add_option("--redis-timeout-ms", flags.tables.redis_timeout_ms,
                  "Timeout of each Redis call; a call that fails after half of it counts "
                  "as a hang and opens the store's circuit breaker at once")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  serve
      .add_option("--redis-retry-ms", flags.redis_retry_ms,
                  "How long an open circuit breaker answers without asking Redis before "
                  "one call probes it again")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  serve
      .add_option("--redis-lookup-threads", flags.redis_lookup_threads,
                  "Threads that continue a request once its Redis lookups answer (decode, "
                  "transform, model) and probe a Redis that stopped answering; never the "
                  "HTTP or gRPC threads")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  serve
      .add_option("--redis-lookup-connections", flags.tables.redis_lookup_connections,
                  "Connections, each with a thread, that send Redis lookups: the lookups of "
                  "concurrent requests go together as one MGET per round trip")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  serve.add_flag("--redis-verify,!--no-redis-verify", flags.tables.verify_redis_content,
                 "Read every record of a Redis table version when it opens and refuse it when "
                 "its row count or checksum differs from its manifest's (a full scan; "
                 "default: on)");
  serve
      .add_option("--block-cache", flags.tables.block_cache,
                  "RocksDB block cache size per table store")
      ->capture_default_str();
}

// The drain sequence after SIGTERM.
void AddDrainFlags(CLI::App& serve, ServeFlags& flags) {
  serve
      .add_option("--drain-delay", flags.drain_delay_s,
                  "Seconds to go on serving after SIGTERM, not ready (/v2/health/ready 503), "
                  "so that load balancers stop sending before the listeners close")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  serve
      .add_option("--drain-timeout", flags.drain_timeout_s,
                  "Seconds in-flight REST and gRPC requests may take to finish once the "
                  "listeners have closed; then the models unload")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
}

// The payload log: off unless --payload-log names a file.
void AddPayloadLogFlags(CLI::App& serve, ServeFlags& flags) {
  serve.add_option("--payload-log", flags.payload_log,
                   "Append a sample of inference requests and responses to this JSON Lines "
                   "file, redacted field by field by --payload-log-policy (docs/security.md); "
                   "off by default");
  serve
      .add_option("--payload-log-policy", flags.payload_log_policy,
                  "Redaction policy (YAML: inputs and outputs mapping field names to drop, "
                  "hash or keep; a field not named is dropped); required with --payload-log")
      ->check(CLI::ExistingFile);
  serve
      .add_option("--payload-log-sample", flags.payload_log_sample,
                  "Share of inference requests written to --payload-log, in (0, 1]")
      ->capture_default_str();
  serve
      .add_option("--payload-log-max-size", flags.payload_log_max_size,
                  "Size at which --payload-log is rotated to FILE.1 (the older FILE.1 is "
                  "replaced)")
      ->capture_default_str();
}

}  // namespace

void AddFeatureFlags(CLI::App& serve, ServeFlags& flags) {
  serve
      .add_option("--feature-store", flags.feature_store,
                  "Where the feature tables of models with a features.yaml are: rocksdb "
                  "(--tables) or redis (--redis) (docs/features.md)")
      ->capture_default_str()
      ->check(CLI::IsMember({"rocksdb", "redis"}));
  serve
      .add_option("--feature-timeout-ms", flags.feature_timeout_ms,
                  "Longest the feature lookups of one request may take (the request's "
                  "timeout when sooner); then each table's on_store_error policy answers")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  serve.add_option("--feature-log", flags.feature_log,
                   "Append sampled served feature vectors to this JSON Lines file, for "
                   "`strata features skew` (needs --feature-log-secret)");
  serve
      .add_option("--feature-log-sample", flags.feature_log_sample,
                  "Share of served rows written to --feature-log")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  serve
      .add_option("--trusted-key", flags.trusted_key,
                  "Ed25519 public key (PEM): every model and table version must carry a "
                  "SHA256SUMS signed by it (SHA256SUMS.sig), else it is refused "
                  "(docs/security.md)")
      ->check(CLI::ExistingFile);
  serve.add_option("--feature-log-secret", flags.feature_log_secret,
                   "File holding the secret (at least 16 bytes) entity keys are hashed with "
                   "in --feature-log");
}

void AddServeCommand(CLI::App& app) {
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* serve = app.add_subcommand(
      "serve", "Serve the models of a repository over the KServe v2 REST and gRPC protocols");
  AddRepositoryFlags(*serve, *flags);
  AddFrontendFlags(*serve, *flags);
  AddEndpointFlags(*serve, *flags);
  AddTableStoreServeFlags(*serve, *flags);
  AddDrainFlags(*serve, *flags);
  AddFeatureFlags(*serve, *flags);
  AddPayloadLogFlags(*serve, *flags);
  AddSecurityFlags(*serve, flags->security);
  serve->callback([flags] { throw CLI::RuntimeError(RunServe(*flags)); });
}

}  // namespace strata::cli
