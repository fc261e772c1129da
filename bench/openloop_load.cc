// openloop_load: an open-loop HTTP/1.1 load generator for 127.0.0.1, in C++
// because bench/lib/openloop.py (Python asyncio) falls behind its schedule
// by 100 ms at 1,000 req/s on a busy 2-core machine, and that lag counts
// against the server.
//
// Request i is due at start + i / rate whatever the server does; it goes out
// on the first idle keep-alive connection, and its latency is measured from
// the time it was due (waiting for a connection counts, as a real client
// arriving then would see it: no coordinated omission). One thread, epoll,
// `--connections` connections opened up front. Prints one JSON line:
// offered and sent rates, the generator's lag (send - due), and per HTTP
// status the count and latency percentiles (µs); status 0 is a connection
// error, and requests still unanswered after the drain are "unfinished".
//
//   openloop_load --port P --path /v2/models/m/infer --body body.json
//                 --rate 2000 --duration 5 [--connections 64] [--drain 5]
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  int port = 0;
  std::string path, body;
  double rate = 0, duration = 0, drain = 5;
  int connections = 64;
};

struct Conn {
  int fd = -1;
  bool busy = false;
  Clock::time_point due, sent;
  std::string in;  // bytes of the response read so far
};

struct Sample {
  int status;
  double latency_us, service_us, lag_us;
};

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "openloop_load: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(2);
}

Options Parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i], value = argv[i + 1];
    if (key == "--port")
      o.port = std::atoi(value.c_str());
    else if (key == "--path")
      o.path = value;
    else if (key == "--rate")
      o.rate = std::atof(value.c_str());
    else if (key == "--duration")
      o.duration = std::atof(value.c_str());
    else if (key == "--drain")
      o.drain = std::atof(value.c_str());
    else if (key == "--connections")
      o.connections = std::atoi(value.c_str());
    else if (key == "--body") {
      std::ifstream f(value, std::ios::binary);
      std::stringstream s;
      s << f.rdbuf();
      o.body = s.str();
    } else {
      std::fprintf(stderr, "openloop_load: unknown option %s\n", key.c_str());
      std::exit(2);
    }
  }
  if (o.port <= 0 || o.path.empty() || o.rate <= 0 || o.duration <= 0 || o.connections <= 0) {
    std::fprintf(stderr,
                 "usage: openloop_load --port P --path PATH --body FILE --rate R "
                 "--duration S [--connections N] [--drain S]\n");
    std::exit(2);
  }
  return o;
}

int Connect(int port, int epoll) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) Fail("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);  // loopback only
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) Fail("connect");
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = fd;
  if (epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &ev) != 0) Fail("epoll_ctl");
  return fd;
}

double Us(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

// The status of a complete response in `in`, which is then consumed; -1
// while it is incomplete.
int TakeResponse(std::string& in) {
  const size_t head_end = in.find("\r\n\r\n");
  if (head_end == std::string::npos || in.size() < 12) return -1;
  std::string head = in.substr(0, head_end);
  std::transform(head.begin(), head.end(), head.begin(), ::tolower);
  const size_t cl = head.find("content-length:");
  const size_t length =
      cl == std::string::npos ? 0 : std::strtoul(head.c_str() + cl + 15, nullptr, 10);
  if (in.size() < head_end + 4 + length) return -1;
  const int status = std::atoi(in.c_str() + 9);
  in.erase(0, head_end + 4 + length);
  return status;
}

class Generator {
 public:
  explicit Generator(Options o) : o_(std::move(o)) {
    request_ =
        "POST " + o_.path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(o_.port) +
        "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(o_.body.size()) +
        "\r\n\r\n" + o_.body;
    epoll_ = epoll_create1(0);
    conns_.resize(static_cast<size_t>(o_.connections));
    for (Conn& c : conns_) {
      c.fd = Connect(o_.port, epoll_);
      by_fd_[c.fd] = &c;
    }
  }

  void Run() {
    total_ = static_cast<long>(o_.rate * o_.duration);
    start_ = Clock::now() + std::chrono::milliseconds(20);
    const Clock::time_point end = start_ + Seconds(o_.duration + o_.drain);
    while (Clock::now() < end && (next_ < total_ || !waiting_.empty() || Busy() > 0)) {
      const Clock::time_point now = Clock::now();
      for (; next_ < total_ && Due(next_) <= now; ++next_) waiting_.push_back(Due(next_));
      Dispatch();
      Poll(next_ < total_ ? Due(next_) : now + std::chrono::milliseconds(5));
    }
    unfinished_ = static_cast<long>(waiting_.size()) + Busy() + (total_ - next_);
  }

  void Print() const {
    std::map<int, std::vector<Sample>> by;
    std::vector<double> lag;
    for (const Sample& s : samples_) {
      by[s.status].push_back(s);
      lag.push_back(s.lag_us);
    }
    std::printf(
        "{\"offered\": %.1f, \"sent\": %zu, \"unfinished\": %ld, \"lag_p50_us\": %.1f, "
        "\"lag_p99_us\": %.1f, \"by_status\": {",
        o_.rate, samples_.size(), unfinished_, Pct(lag, 50), Pct(lag, 99));
    const char* sep = "";
    for (const auto& [status, list] : by) {
      std::vector<double> lat, svc;
      for (const Sample& s : list) {
        lat.push_back(s.latency_us);
        svc.push_back(s.service_us);
      }
      std::printf(
          "%s\"%d\": {\"count\": %zu, \"p50_us\": %.1f, \"p90_us\": %.1f, "
          "\"p99_us\": %.1f, \"max_us\": %.1f, \"svc_p99_us\": %.1f}",
          sep, status, list.size(), Pct(lat, 50), Pct(lat, 90), Pct(lat, 99), Pct(lat, 100),
          Pct(svc, 99));
      sep = ", ";
    }
    std::printf("}}\n");
  }

 private:
  static Clock::duration Seconds(double s) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
  }
  static double Pct(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const size_t k = static_cast<size_t>(std::max(0.0, std::ceil(p / 100 * v.size()) - 1));
    return v[std::min(k, v.size() - 1)];
  }
  Clock::time_point Due(long i) const { return start_ + Seconds(static_cast<double>(i) / o_.rate); }
  long Busy() const {
    return std::count_if(conns_.begin(), conns_.end(), [](const Conn& c) { return c.busy; });
  }

  void Dispatch() {
    for (Conn& c : conns_) {
      if (waiting_.empty()) return;
      if (c.busy) continue;
      c.busy = true;
      c.due = waiting_.front();
      waiting_.pop_front();
      c.sent = Clock::now();
      if (write(c.fd, request_.data(), request_.size()) != static_cast<ssize_t>(request_.size())) {
        Finish(c, 0);  // a short write on loopback: counted as an error
      }
    }
  }

  void Poll(Clock::time_point until) {
    const double wait_us = std::max(0.0, Us(until - Clock::now()));
    timespec timeout{static_cast<time_t>(wait_us / 1e6),
                     static_cast<long>(std::fmod(wait_us, 1e6) * 1000)};
    epoll_event events[256];
    const int n = epoll_pwait2(epoll_, events, 256, &timeout, nullptr);
    for (int i = 0; i < n; ++i) Read(*by_fd_[events[i].data.fd]);
  }

  void Read(Conn& c) {
    char buffer[65536];
    for (;;) {
      const ssize_t got = read(c.fd, buffer, sizeof buffer);
      if (got > 0) {
        c.in.append(buffer, static_cast<size_t>(got));
        continue;
      }
      if (got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {  // closed: reopen
        by_fd_.erase(c.fd);
        close(c.fd);
        c.fd = Connect(o_.port, epoll_);
        by_fd_[c.fd] = &c;
        c.in.clear();
        if (c.busy) Finish(c, 0);
      }
      break;
    }
    for (int status; c.busy && (status = TakeResponse(c.in)) >= 0;) Finish(c, status);
  }

  void Finish(Conn& c, int status) {
    const Clock::time_point now = Clock::now();
    samples_.push_back({status, Us(now - c.due), Us(now - c.sent), Us(c.sent - c.due)});
    c.busy = false;
  }

  const Options o_;
  std::string request_;
  int epoll_ = -1;
  std::vector<Conn> conns_;
  std::map<int, Conn*> by_fd_;
  std::deque<Clock::time_point> waiting_;
  std::vector<Sample> samples_;
  Clock::time_point start_;
  long total_ = 0, next_ = 0, unfinished_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  Generator generator(Parse(argc, argv));
  generator.Run();
  generator.Print();
  return 0;
}
