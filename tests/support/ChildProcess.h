// Forked children for the store and trainer disk tests: a second process on the same store, or
// this process's checks run where the disk is read-only or full (as another user, in a private
// mount namespace), which the test process itself must not become. Header-only, Qt-free: a child
// never runs Qt Test code, it returns a string ("" = passed, "SKIP: why" = cannot run here,
// anything else = what failed) that the parent turns into QVERIFY / QSKIP.
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <exception>
#include <functional>
#include <string>

namespace qs::test {

/// A check inside a child: returns "file:line: condition" from the enclosing lambda on failure.
#define QS_CHILD_CHECK(cond)                                                              \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            return std::string(__FILE__) + ":" + std::to_string(__LINE__) + ": " + #cond; \
        }                                                                                 \
    } while (false)

/// Like QS_CHILD_CHECK, with `detail` (a std::string) appended to the report.
#define QS_CHILD_CHECK2(cond, detail)                                                             \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            return std::string(__FILE__) + ":" + std::to_string(__LINE__) + ": " + #cond + ": " + \
                   (detail);                                                                      \
        }                                                                                         \
    } while (false)

/// A forked child that runs `body` and reports its string back through a pipe.
class ChildProcess {
public:
    explicit ChildProcess(const std::function<std::string()>& body) {
        int fds[2];
        if (pipe(fds) != 0) {
            m_startError = std::string("pipe: ") + std::strerror(errno);
            return;
        }
        m_pid = fork();
        if (m_pid == 0) {
            close(fds[0]);
            std::string result;
            try {
                result = body();
            } catch (const std::exception& e) {
                result = std::string("exception: ") + e.what();
            } catch (...) {
                result = "unknown exception";
            }
            const char* p = result.data();
            size_t left = result.size();
            while (left > 0) {
                const ssize_t n = write(fds[1], p, left);
                if (n < 0 && errno == EINTR) {
                    continue;
                }
                if (n <= 0) {
                    break;
                }
                p += n;
                left -= size_t(n);
            }
            // _exit: the Qt Test machinery copied into the child must not run its cleanup.
            _exit(0);
        }
        close(fds[1]);
        if (m_pid < 0) {
            m_startError = std::string("fork: ") + std::strerror(errno);
            close(fds[0]);
            return;
        }
        m_fd = fds[0];
    }
    ~ChildProcess() {
        if (m_pid > 0 && !m_reaped) {
            kill(m_pid, SIGKILL);
            waitpid(m_pid, nullptr, 0);
        }
        if (m_fd >= 0) {
            close(m_fd);
        }
    }
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    /// True until the child has exited (reaps it then).
    bool running() {
        if (m_pid <= 0 || m_reaped) {
            return false;
        }
        if (waitpid(m_pid, &m_status, WNOHANG) == m_pid) {
            m_reaped = true;
        }
        return !m_reaped;
    }

    /// Waits for the child (killing it after `timeoutMs`) and returns its report, or what went
    /// wrong with the child itself.
    std::string result(int timeoutMs = 60000) {
        if (!m_startError.empty()) {
            return m_startError;
        }
        std::string out;
        timespec start{};
        clock_gettime(CLOCK_MONOTONIC, &start);
        for (;;) {
            timespec now{};
            clock_gettime(CLOCK_MONOTONIC, &now);
            const long elapsed =
                (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
            if (elapsed >= timeoutMs) {
                return "the child did not finish within " + std::to_string(timeoutMs) + " ms";
            }
            pollfd pfd{m_fd, POLLIN, 0};
            const int ready = poll(&pfd, 1, int(timeoutMs - elapsed));
            if (ready < 0 && errno == EINTR) {
                continue;
            }
            if (ready <= 0) {
                continue;  // the deadline check above ends it
            }
            char buffer[4096];
            const ssize_t n = read(m_fd, buffer, sizeof buffer);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n <= 0) {
                break;  // EOF: the child has exited or is exiting
            }
            out.append(buffer, size_t(n));
        }
        if (!m_reaped) {
            waitpid(m_pid, &m_status, 0);
            m_reaped = true;
        }
        if (WIFSIGNALED(m_status)) {
            return "the child was killed by signal " + std::to_string(WTERMSIG(m_status)) +
                   (out.empty() ? std::string() : ": " + out);
        }
        return out;
    }

private:
    pid_t m_pid = -1;
    int m_fd = -1;
    int m_status = 0;
    bool m_reaped = false;
    std::string m_startError;
};

/// In a child: when running as root, becomes nobody (65534), so that permission bits apply as
/// they do to a user; "" or why not.
inline std::string dropRootPrivileges() {
    if (geteuid() != 0) {
        return {};
    }
    if (setgroups(0, nullptr) != 0 || setgid(65534) != 0 || setuid(65534) != 0) {
        return std::string("SKIP: cannot become nobody: ") + std::strerror(errno);
    }
    return {};
}

inline bool writeSmallFile(const char* path, const std::string& text) {
    const int fd = ::open(path, O_WRONLY);
    if (fd < 0) {
        return false;
    }
    const bool ok = write(fd, text.data(), text.size()) == ssize_t(text.size());
    close(fd);
    return ok;
}

/// In a child: a private mount namespace, as root or (for a user) inside a user namespace
/// mapped to root; "" or "SKIP: why" (containers often forbid both).
inline std::string enterMountNamespace() {
    const uid_t uid = geteuid();
    const gid_t gid = getegid();
    if (unshare(CLONE_NEWNS) != 0) {
        if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) {
            return std::string("SKIP: no private mount namespace here: ") + std::strerror(errno);
        }
        writeSmallFile("/proc/self/setgroups", "deny");
        if (!writeSmallFile("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1") ||
            !writeSmallFile("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1")) {
            return std::string("SKIP: cannot map ids in a user namespace: ") + std::strerror(errno);
        }
    }
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
        return std::string("SKIP: cannot make mounts private: ") + std::strerror(errno);
    }
    return {};
}

/// In a child inside enterMountNamespace: makes `dir` a read-only bind mount of itself.
inline std::string bindMountReadOnly(const std::string& dir) {
    struct statvfs info {};
    if (statvfs(dir.c_str(), &info) != 0) {
        return std::string("statvfs: ") + std::strerror(errno);
    }
    // A remount inside a user namespace must keep the flags the outer mount locked.
    unsigned long flags = MS_REMOUNT | MS_BIND | MS_RDONLY;
    flags |= (info.f_flag & ST_NOSUID) ? MS_NOSUID : 0;
    flags |= (info.f_flag & ST_NODEV) ? MS_NODEV : 0;
    flags |= (info.f_flag & ST_NOEXEC) ? MS_NOEXEC : 0;
    flags |= (info.f_flag & ST_NOATIME) ? MS_NOATIME : 0;
    flags |= (info.f_flag & ST_NODIRATIME) ? MS_NODIRATIME : 0;
    flags |= (info.f_flag & ST_RELATIME) ? MS_RELATIME : 0;
    if (mount(dir.c_str(), dir.c_str(), nullptr, MS_BIND, nullptr) != 0 ||
        mount(nullptr, dir.c_str(), nullptr, flags, nullptr) != 0) {
        return std::string("SKIP: cannot bind-mount read-only: ") + std::strerror(errno);
    }
    return {};
}

/// In a child inside enterMountNamespace: mounts (or with `remount`, resizes) a tmpfs of
/// `bytes` on `dir`.
inline std::string mountSmallTmpfs(const std::string& dir, long bytes, bool remount = false) {
    const std::string options = "size=" + std::to_string(bytes) + ",mode=0777";
    if (mount("tmpfs", dir.c_str(), "tmpfs", remount ? MS_REMOUNT : 0, options.c_str()) != 0) {
        return std::string("SKIP: cannot ") + (remount ? "resize" : "mount") + " a tmpfs of " +
               std::to_string(bytes) + " bytes on " + dir + ": " + std::strerror(errno);
    }
    return {};
}

}  // namespace qs::test
