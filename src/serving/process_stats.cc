#include "serving/process_stats.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace strata::serving {
namespace {

double BootTimeSeconds() {
  std::ifstream stat("/proc/stat");
  std::string key;
  while (stat >> key) {
    if (key == "btime") {
      double btime = 0;
      stat >> btime;
      return btime;
    }
  }
  return 0;
}

}  // namespace

ProcessStats ReadProcessStats() {
  ProcessStats stats;
  std::ifstream file("/proc/self/stat");
  std::string line;
  if (std::getline(file, line)) {
    // Fields after the command name, which is in parentheses and may hold spaces.
    std::istringstream rest(line.substr(line.rfind(')') + 2));
    std::vector<std::string> fields{std::istream_iterator<std::string>(rest), {}};
    // fields[0] is field 3 (state) of proc(5).
    if (fields.size() > 21) {
      const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
      stats.cpu_seconds = (std::stod(fields[11]) + std::stod(fields[12])) / ticks;
      stats.threads = std::stoll(fields[17]);
      stats.start_time_seconds = BootTimeSeconds() + std::stod(fields[19]) / ticks;
      stats.resident_bytes = std::stoll(fields[21]) * sysconf(_SC_PAGESIZE);
    }
  }
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    ++stats.open_fds;
    std::error_code link_ec;
    const std::string target = std::filesystem::read_symlink(entry.path(), link_ec).string();
    if (target.starts_with("socket:")) ++stats.open_sockets;
  }
  return stats;
}

}  // namespace strata::serving
