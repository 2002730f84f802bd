#include "engine/dist/Launch.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <thread>

namespace fs = std::filesystem;

namespace qs::dist {

std::string workerExecutable(const std::string& requested) {
    std::string path = requested;
    if (path.empty()) {
        if (const char* env = std::getenv("QS_WORKER_EXECUTABLE"); env && *env) {
            path = env;
        } else {
            std::error_code ec;
            const fs::path self = fs::read_symlink("/proc/self/exe", ec);
            path = ec ? std::string("quantscape-cli")
                      : (self.parent_path() / "quantscape-cli").string();
        }
    }
    if (::access(path.c_str(), X_OK) != 0) {
        throw std::runtime_error("distributed: the worker program " + path + " cannot be run (" +
                                 std::strerror(errno) +
                                 "); set QS_WORKER_EXECUTABLE to quantscape-cli");
    }
    return path;
}

LocalWorkers::LocalWorkers(const WorkerLaunch& launch) : m_launch(launch) {
    const std::string exe = workerExecutable(launch.executable);
    if (!launch.logDir.empty()) {
        fs::create_directories(launch.logDir);
    }
    for (int rank = 1; rank < launch.worldSize; ++rank) {
        // Everything the child needs is built before fork: after it only async-signal-safe calls.
        std::vector<std::string> args{exe,
                                      "train",
                                      "--rank",
                                      std::to_string(rank),
                                      "--world-size",
                                      std::to_string(launch.worldSize),
                                      "--master-addr",
                                      launch.masterAddr,
                                      "--master-port",
                                      std::to_string(launch.masterPort),
                                      "--threads",
                                      std::to_string(launch.threadsPerProcess)};
        std::vector<char*> argv;
        for (auto& a : args) {
            argv.push_back(a.data());
        }
        argv.push_back(nullptr);
        const std::string log =
            launch.logDir.empty()
                ? std::string()
                : (fs::path(launch.logDir) / ("worker-" + std::to_string(rank) + ".log")).string();
        const pid_t parent = ::getpid();
        const pid_t pid = ::fork();
        if (pid < 0) {
            throw std::runtime_error(std::string("distributed: cannot start a worker: ") +
                                     std::strerror(errno));
        }
        if (pid == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (::getppid() != parent) {
                ::_exit(127);  // the parent died before prctl took effect
            }
            if (!log.empty()) {
                const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                if (fd >= 0) {
                    ::dup2(fd, STDOUT_FILENO);
                    ::dup2(fd, STDERR_FILENO);
                }
            }
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        m_pids.push_back(pid);
        m_status.push_back(-1);
    }
}

LocalWorkers::~LocalWorkers() {
    if (!waitAll(5.0)) {
        for (size_t i = 0; i < m_pids.size(); ++i) {
            if (m_status[i] < 0) {
                ::kill(m_pids[i], SIGKILL);
            }
        }
        reap(true);
    }
}

void LocalWorkers::reap(bool block) {
    for (size_t i = 0; i < m_pids.size(); ++i) {
        if (m_status[i] >= 0) {
            continue;
        }
        int status = 0;
        const pid_t r = ::waitpid(m_pids[i], &status, block ? 0 : WNOHANG);
        if (r == m_pids[i]) {
            m_status[i] = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        } else if (r < 0 && errno == ECHILD) {
            m_status[i] = 0;  // reaped elsewhere
        }
    }
}

bool LocalWorkers::waitAll(double seconds) {
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(int64_t(seconds * 1000));
    for (;;) {
        reap(false);
        bool running = false;
        for (int s : m_status) {
            running = running || s < 0;
        }
        if (!running) {
            return true;
        }
        if (std::chrono::steady_clock::now() > deadline) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

std::string LocalWorkers::failures() {
    reap(false);
    std::string out;
    for (size_t i = 0; i < m_pids.size(); ++i) {
        if (m_status[i] > 0) {
            const int rank = int(i) + 1;
            out +=
                (out.empty() ? "" : "; ") + std::string("rank ") + std::to_string(rank) +
                (m_status[i] >= 128 ? " was killed by signal " + std::to_string(m_status[i] - 128)
                                    : " exited with status " + std::to_string(m_status[i]));
            if (!m_launch.logDir.empty()) {
                out += " (see " +
                       (fs::path(m_launch.logDir) / ("worker-" + std::to_string(rank) + ".log"))
                           .string() +
                       ")";
            }
        }
    }
    return out;
}

}  // namespace qs::dist
