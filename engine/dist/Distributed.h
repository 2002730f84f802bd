// Data-parallel training over torch's own distributed layer (c10d): a TCPStore rendezvous, a
// ProcessGroupGloo for the collectives, bucketed gradient all-reduce overlapped with backward,
// and the few agreements the trainer needs (model broadcast, averaged BatchNorm statistics,
// sharded evaluation, a per-step command from rank 0). Internal header (torch).
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace c10d {
class Store;
class ProcessGroup;
class Work;
}  // namespace c10d

namespace qs::dist {

struct GroupOptions {
    int rank = 0;
    int worldSize = 1;
    std::string masterAddr = "127.0.0.1";
    int masterPort = 0;  ///< rank 0 only: 0 = a free port (read it back with port())
    std::chrono::milliseconds timeout{60000};
};

/// The processes of one run. Every collective is blocking and ends with a std::runtime_error
/// that names the peer problem ("lost contact", "no answer within N s") instead of hanging.
class Group {
public:
    /// Rank 0: listens on masterAddr:masterPort. Other ranks: connect to it, retrying until
    /// the timeout. The process group itself is created by join().
    explicit Group(const GroupOptions& options);
    ~Group();
    Group(const Group&) = delete;
    Group& operator=(const Group&) = delete;

    /// Waits until all worldSize processes are in the group (within the timeout).
    void join();

    int rank() const { return m_options.rank; }
    int size() const { return m_options.worldSize; }
    bool isRoot() const { return m_options.rank == 0; }
    int port() const;
    /// The timeout of the collectives (before join()).
    void setTimeout(std::chrono::milliseconds timeout) { m_options.timeout = timeout; }

    /// Small values through the rendezvous store (rank 0 sets, others wait for them).
    void setValue(const std::string& key, const std::string& value);
    std::string value(const std::string& key);
    /// Waits for rank 0 to set `key`, without a deadline (rank 0 is busy on its own, say with a
    /// landscape snapshot); ends with an error when rank 0 goes away.
    void waitFor(const std::string& key);
    /// Tells rank 0, while it waits in join(), why this process is giving up. Never throws.
    void reportFailure(const std::string& message);

    /// In-place sum over all processes.
    void allreduceSum(std::vector<torch::Tensor>& tensors);
    /// In-place broadcast from rank 0.
    void broadcast(std::vector<torch::Tensor>& tensors);
    /// Each process's rows, concatenated in rank order (rows may differ in number).
    torch::Tensor allgatherRows(const torch::Tensor& rows);
    /// Rank 0's integer to everybody.
    int64_t broadcastCommand(int64_t command);

    c10d::ProcessGroup& processGroup();
    /// Waits for a collective started on processGroup(), translating failures.
    void wait(const c10::intrusive_ptr<c10d::Work>& work, const char* what);
    /// The message for a failed collective: names the likely cause.
    std::string explain(const std::string& what, const std::string& error) const;

private:
    GroupOptions m_options;
    c10::intrusive_ptr<c10d::Store> m_store;
    c10::intrusive_ptr<c10d::ProcessGroup> m_group;
};

/// Averages gradients over the group, bucket by bucket, while backward still runs: each
/// parameter's hook copies its gradient (times this process's share of the global batch) into
/// a flat bucket, and a full bucket is all-reduced asynchronously, in bucket order on every
/// rank. finish() waits and writes the averaged gradients into .grad.
class GradientSync {
public:
    GradientSync(Group& group, std::vector<torch::Tensor> params, int64_t bucketBytes);
    ~GradientSync();
    GradientSync(const GradientSync&) = delete;
    GradientSync& operator=(const GradientSync&) = delete;

    /// Before backward: this process's examples over the global batch's.
    void begin(double share);
    /// After backward: every bucket reduced, .grad = the global batch's mean gradient.
    void finish();

private:
    struct Bucket {
        std::vector<size_t> params;
        torch::Tensor flat;
        size_t pending = 0;
        c10::intrusive_ptr<c10d::Work> work;
    };
    void onGradient(size_t param, const torch::Tensor& grad);
    void launchReady();

    Group& m_group;
    std::vector<torch::Tensor> m_params;
    std::vector<size_t> m_bucketOf, m_offsetIn;
    std::vector<bool> m_ready;
    std::vector<unsigned> m_hooks;
    std::vector<Bucket> m_buckets;
    size_t m_nextLaunch = 0;
    double m_share = 1.0;
    bool m_active = false;
};

/// Rank 0's parameters and buffers to every process (same module structure everywhere).
void broadcastModule(Group& group, torch::nn::Module& module);
/// Named tensors from rank 0 (names, shapes and types go through the store; the others pass
/// an empty vector and receive them).
std::vector<std::pair<std::string, torch::Tensor>> shareTensors(
    Group& group, const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
    const std::string& key);
/// BatchNorm running means and variances averaged over processes (before evaluation).
void averageRunningStatistics(Group& group, torch::nn::Module& module);
/// Throws when the processes' parameters differ (a checksum of every parameter).
void checkInSync(Group& group, torch::nn::Module& module);

}  // namespace qs::dist
