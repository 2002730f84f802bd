#include "engine/dist/Distributed.h"

// Debian's LibTorch is built with Gloo, but its headers guard ProcessGroupGloo behind this macro
// (set by Torch's CMake only for its own build); libgloo-dev provides the gloo headers.
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <stdexcept>
#include <thread>

namespace qs::dist {

namespace {

/// Torch's own checks carry a C++ backtrace after the message: keep the message.
std::string messageOf(const std::exception& e) {
    if (const auto* c10 = dynamic_cast<const c10::Error*>(&e)) {
        return c10->what_without_backtrace();
    }
    return e.what();
}

bool contains(const std::string& text, const char* part) {
    std::string lower(text);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    return lower.find(part) != std::string::npos;
}

std::string seconds(std::chrono::milliseconds t) {
    const double s = double(t.count()) / 1000.0;
    return std::to_string(int64_t(std::llround(s))) + " s";
}

bool endsWith(const std::string& s, const char* suffix) {
    const std::string t(suffix);
    return s.size() >= t.size() && s.compare(s.size() - t.size(), t.size(), t) == 0;
}

}  // namespace

Group::Group(const GroupOptions& options) : m_options(options) {
    if (options.worldSize < 1 || options.rank < 0 || options.rank >= options.worldSize) {
        throw std::runtime_error("distributed: rank " + std::to_string(options.rank) +
                                 " is outside a world of " + std::to_string(options.worldSize));
    }
    c10d::TCPStoreOptions store;
    store.port = uint16_t(options.masterPort);
    store.isServer = options.rank == 0;
    store.numWorkers = size_t(options.worldSize);
    store.waitWorkers = false;  // join() waits, with a message that names who is missing
    store.timeout = options.timeout;
    try {
        m_store = c10::make_intrusive<c10d::TCPStore>(options.masterAddr, store);
    } catch (const std::exception& e) {
        const std::string where = options.masterAddr + ":" + std::to_string(options.masterPort);
        throw std::runtime_error(
            options.rank == 0
                ? "distributed: cannot listen on " + where + ": " + messageOf(e)
                : "distributed: cannot reach rank 0 at " + where + " within " +
                      seconds(options.timeout) +
                      " (is it running? check --master-addr and --master-port): " + messageOf(e));
    }
}

Group::~Group() = default;

int Group::port() const {
    return static_cast<const c10d::TCPStore&>(*m_store).getPort();
}

void Group::join() {
    // Every process announces itself; rank 0 names the ones missing when the time is up.
    m_store->set("qs/joined/" + std::to_string(rank()), std::vector<uint8_t>{'1'});
    const auto deadline = std::chrono::steady_clock::now() + m_options.timeout;
    std::vector<int> missing;
    for (;;) {
        missing.clear();
        for (int r = 0; r < size(); ++r) {
            if (!m_store->check({"qs/joined/" + std::to_string(r)})) {
                missing.push_back(r);
            }
            if (m_store->check({"qs/failed/" + std::to_string(r)})) {
                const std::vector<uint8_t> why = m_store->get("qs/failed/" + std::to_string(r));
                throw std::runtime_error("distributed: process " + std::to_string(r) + " of " +
                                         std::to_string(size()) +
                                         " failed: " + std::string(why.begin(), why.end()));
            }
        }
        if (missing.empty()) {
            break;
        }
        if (std::chrono::steady_clock::now() > deadline) {
            std::string names;
            for (int r : missing) {
                names += (names.empty() ? "" : ", ") + std::to_string(r);
            }
            throw std::runtime_error("distributed: rank " + names + " of " +
                                     std::to_string(size()) + " did not join within " +
                                     seconds(m_options.timeout) + " (distributed.timeout_s)");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    // Where this process's Gloo sockets listen: the loopback for a local launch, the interface
    // named by GLOO_SOCKET_IFNAME (as torch.distributed reads it), rank 0's own address on
    // rank 0, else the address of this host's name.
    auto options = c10d::ProcessGroupGloo::Options::create(m_options.timeout);
    const bool loopback =
        m_options.masterAddr == "localhost" || m_options.masterAddr.rfind("127.", 0) == 0;
    const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
    try {
        if (loopback) {
            options->devices.push_back(
                c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
        } else if (ifname && *ifname) {
            options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
        } else if (isRoot()) {
            options->devices.push_back(
                c10d::ProcessGroupGloo::createDeviceForHostname(m_options.masterAddr));
        } else {
            options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
        }
    } catch (const std::exception& e) {
        throw std::runtime_error(
            "distributed: no network device for Gloo (set GLOO_SOCKET_IFNAME "
            "to this host's interface): " +
            messageOf(e));
    }
    try {
        m_group = c10::make_intrusive<c10d::ProcessGroupGloo>(m_store, rank(), size(), options);
    } catch (const std::exception& e) {
        throw std::runtime_error(explain("joining the process group", messageOf(e)));
    }
}

void Group::setValue(const std::string& key, const std::string& value) {
    m_store->set("qs/value/" + key, std::vector<uint8_t>(value.begin(), value.end()));
}

std::string Group::value(const std::string& key) {
    try {
        const std::vector<uint8_t> bytes = m_store->get("qs/value/" + key);
        return std::string(bytes.begin(), bytes.end());
    } catch (const std::exception& e) {
        throw std::runtime_error(explain("reading '" + key + "' from rank 0", messageOf(e)));
    }
}

void Group::waitFor(const std::string& key) {
    try {
        while (!m_store->check({"qs/value/" + key})) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    } catch (const std::exception& e) {
        throw std::runtime_error(explain("waiting for rank 0", messageOf(e)));
    }
}

void Group::reportFailure(const std::string& message) {
    try {
        m_store->set("qs/failed/" + std::to_string(rank()),
                     std::vector<uint8_t>(message.begin(), message.end()));
    } catch (...) {
        // Rank 0 is gone already: nobody to tell.
    }
}

c10d::ProcessGroup& Group::processGroup() {
    if (!m_group) {
        throw std::logic_error("distributed: the group has not been joined");
    }
    return *m_group;
}

std::string Group::explain(const std::string& what, const std::string& error) const {
    std::string cause;
    if (contains(error, "timed out") || contains(error, "timeout")) {
        cause = "no answer from a peer process within " + seconds(m_options.timeout) +
                " (it stopped, hangs or never started; distributed.timeout_s)";
    } else if (contains(error, "connection reset") || contains(error, "closed") ||
               contains(error, "broken pipe") || contains(error, "read error") ||
               contains(error, "write error") || contains(error, "connection refused")) {
        cause = "lost contact with a peer process (it exited or was killed)";
    } else {
        cause = "a collective operation failed";
    }
    return "distributed training, rank " + std::to_string(rank()) + " of " +
           std::to_string(size()) + ": " + cause + " while " + what + " [" + error + "]";
}

void Group::wait(const c10::intrusive_ptr<c10d::Work>& work, const char* what) {
    try {
        work->wait();
    } catch (const std::exception& e) {
        throw std::runtime_error(explain(what, messageOf(e)));
    }
}

void Group::allreduceSum(std::vector<torch::Tensor>& tensors) {
    if (tensors.empty()) {
        return;
    }
    wait(processGroup().allreduce(tensors), "averaging values");
}

void Group::broadcast(std::vector<torch::Tensor>& tensors) {
    if (tensors.empty()) {
        return;
    }
    wait(processGroup().broadcast(tensors), "receiving rank 0's values");
}

torch::Tensor Group::allgatherRows(const torch::Tensor& rows) {
    torch::NoGradGuard noGrad;
    // Counts first, then every process's rows padded to the longest.
    std::vector<torch::Tensor> count{torch::tensor({rows.size(0)}, torch::kLong)};
    std::vector<std::vector<torch::Tensor>> counts(1);
    for (int r = 0; r < size(); ++r) {
        counts[0].push_back(torch::empty({1}, torch::kLong));
    }
    wait(processGroup().allgather(counts, count), "gathering evaluation results");
    int64_t longest = 0;
    for (const auto& c : counts[0]) {
        longest = std::max(longest, c.item<int64_t>());
    }
    std::vector<int64_t> shape = rows.sizes().vec();
    shape[0] = longest;
    torch::Tensor padded = torch::zeros(shape, rows.options());
    padded.narrow(0, 0, rows.size(0)).copy_(rows);
    std::vector<torch::Tensor> input{padded};
    std::vector<std::vector<torch::Tensor>> outputs(1);
    for (int r = 0; r < size(); ++r) {
        outputs[0].push_back(torch::empty(shape, rows.options()));
    }
    wait(processGroup().allgather(outputs, input), "gathering evaluation results");
    std::vector<torch::Tensor> parts;
    for (int r = 0; r < size(); ++r) {
        parts.push_back(outputs[0][size_t(r)].narrow(0, 0, counts[0][size_t(r)].item<int64_t>()));
    }
    return torch::cat(parts, 0);
}

int64_t Group::broadcastCommand(int64_t command) {
    std::vector<torch::Tensor> t{torch::tensor({command}, torch::kLong)};
    wait(processGroup().broadcast(t), "receiving rank 0's next step");
    return t[0].item<int64_t>();
}

// ---------------------------------------------------------------------------------------------

GradientSync::GradientSync(Group& group, std::vector<torch::Tensor> params, int64_t bucketBytes)
    : m_group(group), m_params(std::move(params)) {
    const size_t n = m_params.size();
    m_bucketOf.assign(n, 0);
    m_offsetIn.assign(n, 0);
    m_ready.assign(n, false);
    // Gradients arrive roughly in reverse order of the parameters: buckets are filled from the
    // last parameter, so the first bucket is complete first (as torch's DDP does).
    int64_t bytes = 0;
    for (size_t k = 0; k < n; ++k) {
        const size_t i = n - 1 - k;
        const int64_t size = m_params[i].numel() * int64_t(m_params[i].element_size());
        if (m_buckets.empty() || (bytes > 0 && bytes + size > bucketBytes) ||
            m_params[i].scalar_type() != m_params[m_buckets.back().params.front()].scalar_type()) {
            m_buckets.emplace_back();
            bytes = 0;
        }
        m_bucketOf[i] = m_buckets.size() - 1;
        m_buckets.back().params.push_back(i);
        bytes += size;
    }
    for (Bucket& b : m_buckets) {
        int64_t numel = 0;
        for (size_t i : b.params) {
            m_offsetIn[i] = size_t(numel);
            numel += m_params[i].numel();
        }
        b.flat = torch::zeros({numel}, m_params[b.params.front()].options().requires_grad(false));
    }
    for (size_t i = 0; i < n; ++i) {
        m_hooks.push_back(m_params[i].register_hook(
            [this, i](const torch::Tensor& grad) { onGradient(i, grad); }));
    }
}

GradientSync::~GradientSync() {
    for (size_t i = 0; i < m_params.size() && i < m_hooks.size(); ++i) {
        m_params[i].remove_hook(m_hooks[i]);
    }
}

void GradientSync::begin(double share) {
    m_share = share;
    m_active = true;
    m_nextLaunch = 0;
    std::fill(m_ready.begin(), m_ready.end(), false);
    for (Bucket& b : m_buckets) {
        b.pending = b.params.size();
        b.work.reset();
    }
}

void GradientSync::onGradient(size_t param, const torch::Tensor& grad) {
    if (!m_active || m_ready[param]) {
        return;
    }
    torch::NoGradGuard noGrad;
    Bucket& b = m_buckets[m_bucketOf[param]];
    b.flat.narrow(0, int64_t(m_offsetIn[param]), grad.numel())
        .copy_(grad.reshape({-1}))
        .mul_(m_share);
    m_ready[param] = true;
    --b.pending;
    launchReady();
}

void GradientSync::launchReady() {
    // Collectives must be issued in the same order on every process: bucket order.
    while (m_nextLaunch < m_buckets.size() && m_buckets[m_nextLaunch].pending == 0) {
        Bucket& b = m_buckets[m_nextLaunch++];
        std::vector<torch::Tensor> tensors{b.flat};
        try {
            b.work = m_group.processGroup().allreduce(tensors);
        } catch (const std::exception& e) {
            throw std::runtime_error(m_group.explain("averaging gradients", messageOf(e)));
        }
    }
}

void GradientSync::finish() {
    if (!m_active) {
        return;
    }
    torch::NoGradGuard noGrad;
    // Parameters that got no gradient in this backward contribute zeros.
    for (size_t i = 0; i < m_params.size(); ++i) {
        if (!m_ready[i]) {
            Bucket& b = m_buckets[m_bucketOf[i]];
            b.flat.narrow(0, int64_t(m_offsetIn[i]), m_params[i].numel()).zero_();
            --b.pending;
        }
    }
    launchReady();
    m_active = false;
    for (Bucket& b : m_buckets) {
        m_group.wait(b.work, "averaging gradients");
        b.work.reset();
    }
    for (size_t i = 0; i < m_params.size(); ++i) {
        const Bucket& b = m_buckets[m_bucketOf[i]];
        torch::Tensor mean =
            b.flat.narrow(0, int64_t(m_offsetIn[i]), m_params[i].numel()).view_as(m_params[i]);
        torch::Tensor& grad = m_params[i].mutable_grad();
        if (grad.defined()) {
            grad.copy_(mean);
        } else if (m_ready[i] || mean.ne(0).any().item<bool>()) {
            grad = mean.clone();
        }
    }
}

// ---------------------------------------------------------------------------------------------

void broadcastModule(Group& group, torch::nn::Module& module) {
    torch::NoGradGuard noGrad;
    std::vector<torch::Tensor> tensors;
    for (const auto& p : module.parameters()) {
        tensors.push_back(p);
    }
    for (const auto& b : module.buffers()) {
        tensors.push_back(b);
    }
    for (torch::Tensor& t : tensors) {
        std::vector<torch::Tensor> one{t};
        group.wait(group.processGroup().broadcast(one), "receiving rank 0's model");
    }
}

std::vector<std::pair<std::string, torch::Tensor>> shareTensors(
    Group& group, const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
    const std::string& key) {
    using nlohmann::json;
    std::vector<std::pair<std::string, torch::Tensor>> out;
    if (group.isRoot()) {
        json list = json::array();
        for (const auto& [name, t] : tensors) {
            list.push_back(
                {{"name", name}, {"type", int(t.scalar_type())}, {"shape", t.sizes().vec()}});
            out.emplace_back(name, t.contiguous());
        }
        group.setValue(key, list.dump());
    } else {
        const json list = json::parse(group.value(key));
        for (const json& item : list) {
            out.emplace_back(item.at("name").get<std::string>(),
                             torch::empty(item.at("shape").get<std::vector<int64_t>>(),
                                          torch::ScalarType(item.at("type").get<int>())));
        }
    }
    for (auto& [name, t] : out) {
        std::vector<torch::Tensor> one{t};
        group.wait(group.processGroup().broadcast(one), "receiving rank 0's checkpoint");
    }
    return out;
}

void averageRunningStatistics(Group& group, torch::nn::Module& module) {
    torch::NoGradGuard noGrad;
    std::vector<torch::Tensor> stats;
    for (const auto& item : module.named_buffers()) {
        if (endsWith(item.key(), "running_mean") || endsWith(item.key(), "running_var")) {
            stats.push_back(item.value());
        }
    }
    if (stats.empty()) {
        return;
    }
    torch::Tensor flat = torch::cat([&] {
        std::vector<torch::Tensor> parts;
        for (const auto& s : stats) {
            parts.push_back(s.reshape({-1}));
        }
        return parts;
    }());
    std::vector<torch::Tensor> one{flat};
    group.wait(group.processGroup().allreduce(one), "averaging BatchNorm statistics");
    flat.div_(double(group.size()));
    int64_t offset = 0;
    for (auto& s : stats) {
        s.copy_(flat.narrow(0, offset, s.numel()).view_as(s));
        offset += s.numel();
    }
}

void checkInSync(Group& group, torch::nn::Module& module) {
    torch::NoGradGuard noGrad;
    // Sum and sum of squares of every parameter, in double: max and min over the processes.
    double sum = 0.0, squares = 0.0;
    for (const auto& p : module.parameters()) {
        const torch::Tensor d = p.detach().to(torch::kDouble);
        sum += d.sum().item<double>();
        squares += d.square().sum().item<double>();
    }
    std::vector<torch::Tensor> hi{torch::tensor({sum, squares}, torch::kDouble)};
    std::vector<torch::Tensor> lo{-hi[0].clone()};
    c10d::AllreduceOptions maxOp;
    maxOp.reduceOp = c10d::ReduceOp::MAX;
    group.wait(group.processGroup().allreduce(hi, maxOp), "comparing parameters");
    group.wait(group.processGroup().allreduce(lo, maxOp), "comparing parameters");
    const torch::Tensor spread = hi[0] + lo[0];  // max - min
    const double scale = std::max(1.0, std::abs(squares));
    if (spread.abs().max().item<double>() > 1e-6 * scale) {
        throw std::runtime_error("distributed training: the processes' parameters differ (spread " +
                                 std::to_string(spread.abs().max().item<double>()) +
                                 "); every process must run the same build on the same data");
    }
}

}  // namespace qs::dist
