/*
 * The part of the rump kernel's client interface that networking uses: NetBSD's socket,
 * interface and routing types as the rump kernel (NetBSD 7.99, x86_64) lays them out, their
 * constants, and the system-call entry points under their linker symbols.
 *
 * Written for this project from NetBSD's documented interface facts (structure layouts,
 * constant values, prototypes). bindgen turns it into Rust (rump-api/build.rs), so the Rust
 * side never restates a layout by hand; the static assertions at the end make clang check
 * every size and every ioctl number while bindgen parses the file.
 *
 * Self-contained on purpose: no system header is included, so the host's C library cannot
 * leak its own (Linux) layouts into NetBSD's.
 */
#ifndef RUMP_NET_H
#define RUMP_NET_H

typedef unsigned char nb_u8;
typedef unsigned short nb_u16;
typedef unsigned int nb_u32;
typedef unsigned long long nb_u64;
typedef long long nb_i64;
typedef unsigned long nb_size_t;
typedef long nb_ssize_t;

/* Address families, socket types, protocols. */
#define AF_INET 2
#define AF_ROUTE 34
#define PF_ROUTE AF_ROUTE
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define SOCK_RAW 3
#define SOCK_NONBLOCK 0x20000000
#define IPPROTO_ICMP 1
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17

/* Socket options and flags. */
#define SOL_SOCKET 0xffff
#define SO_REUSEADDR 0x0004
#define SO_SNDBUF 0x1001
#define SO_RCVBUF 0x1002
#define SO_ERROR 0x1007
#define TCP_NODELAY 1
#define MSG_DONTWAIT 0x0080
#define MSG_NOSIGNAL 0x0400 /* an EPIPE without SIGPIPE (rump raises signals to the host) */
#define SHUT_WR 1

/* poll(2). */
#define POLLIN 0x0001
#define POLLOUT 0x0004
#define POLLERR 0x0008
#define POLLHUP 0x0010

/* Interface flags. */
#define IFNAMSIZ 16
#define IFF_UP 0x0001
#define IFF_RUNNING 0x0040
#define LINK_STATE_UP 2

/* The errno values the network calls return that the client tells apart. */
#define NB_EINTR 4
#define NB_EPIPE 32
#define NB_EAGAIN 35
#define NB_EINPROGRESS 36
#define NB_EALREADY 37
#define NB_EADDRINUSE 48
#define NB_ENETUNREACH 51
#define NB_ECONNABORTED 53
#define NB_ECONNRESET 54
#define NB_ENOBUFS 55
#define NB_EISCONN 56
#define NB_ENOTCONN 57
#define NB_ETIMEDOUT 60
#define NB_ECONNREFUSED 61
#define NB_EHOSTUNREACH 65

/* Routing messages. */
#define RTM_VERSION 4
#define RTM_ADD 0x1
#define RTF_UP 0x1
#define RTF_GATEWAY 0x2
#define RTF_STATIC 0x800
#define RTA_DST 0x1
#define RTA_GATEWAY 0x2
#define RTA_NETMASK 0x4

/* ioctl requests: direction in the top three bits, the argument's size in bits 16-28, the
 * group letter in bits 8-15, the number in bits 0-7 (checked below against the sizes). */
#define SIOCSIFFLAGS 0x80906910UL
#define SIOCGIFFLAGS 0xc0906911UL
#define SIOCAIFADDR 0x8040691aUL
#define SIOCGIFADDR 0xc0906921UL
#define SIOCGIFNETMASK 0xc0906925UL
#define SIOCGIFDATA 0xc0986985UL

typedef nb_u8 sa_family_t;
typedef nb_u16 in_port_t;
typedef nb_u32 in_addr_t;
typedef nb_u32 socklen_t;
typedef nb_u32 nfds_t;

struct sockaddr {
	nb_u8 sa_len;
	sa_family_t sa_family;
	char sa_data[14];
};

struct in_addr {
	in_addr_t s_addr; /* network byte order */
};

struct sockaddr_in {
	nb_u8 sin_len;
	sa_family_t sin_family;
	in_port_t sin_port; /* network byte order */
	struct in_addr sin_addr;
	char sin_zero[8];
};

struct sockaddr_storage {
	nb_u8 ss_len;
	sa_family_t ss_family;
	char ss_pad1[6];
	nb_i64 ss_align;
	char ss_pad2[112];
};

struct timespec {
	nb_i64 tv_sec;
	long tv_nsec;
};

struct pollfd {
	int fd;
	short events;
	short revents;
};

/* An interface request: the name, then one of several arguments. */
struct ifreq {
	char ifr_name[IFNAMSIZ];
	union {
		struct sockaddr ifru_addr;
		struct sockaddr_storage ifru_space;
		short ifru_flags;
		int ifru_metric;
		int ifru_mtu;
		void *ifru_data;
	} ifr_ifru;
};

/* Adds an address to an interface (SIOCAIFADDR). */
struct ifaliasreq {
	char ifra_name[IFNAMSIZ];
	struct sockaddr ifra_addr;
	struct sockaddr ifra_broadaddr;
	struct sockaddr ifra_mask;
};

/* An interface's statistics. */
struct if_data {
	nb_u8 ifi_type;
	nb_u8 ifi_addrlen;
	nb_u8 ifi_hdrlen;
	int ifi_link_state;
	nb_u64 ifi_mtu;
	nb_u64 ifi_metric;
	nb_u64 ifi_baudrate;
	nb_u64 ifi_ipackets;
	nb_u64 ifi_ierrors;
	nb_u64 ifi_opackets;
	nb_u64 ifi_oerrors;
	nb_u64 ifi_collisions;
	nb_u64 ifi_ibytes;
	nb_u64 ifi_obytes;
	nb_u64 ifi_imcasts;
	nb_u64 ifi_omcasts;
	nb_u64 ifi_iqdrops;
	nb_u64 ifi_noproto;
	struct timespec ifi_lastchange;
};

struct ifdatareq {
	char ifdr_name[IFNAMSIZ];
	struct if_data ifdr_data;
};

struct rt_metrics {
	nb_u64 rmx_locks;
	nb_u64 rmx_mtu;
	nb_u64 rmx_hopcount;
	nb_u64 rmx_recvpipe;
	nb_u64 rmx_sendpipe;
	nb_u64 rmx_ssthresh;
	nb_u64 rmx_rtt;
	nb_u64 rmx_rttvar;
	nb_i64 rmx_expire;
	nb_i64 rmx_pksent;
};

/* The header of a routing-socket message; the sockaddrs named by rtm_addrs follow, each
 * padded to a multiple of 8 bytes. */
struct rt_msghdr {
	nb_u16 rtm_msglen __attribute__((aligned(8)));
	nb_u8 rtm_version;
	nb_u8 rtm_type;
	nb_u16 rtm_index;
	int rtm_flags;
	int rtm_addrs;
	int rtm_pid;
	int rtm_seq;
	int rtm_errno;
	int rtm_use;
	int rtm_inits;
	struct rt_metrics rtm_rmx __attribute__((aligned(8)));
};

/* The system calls, as the rump kernel exports them (rump_sys_* in its own headers). They
 * return -1 and set the calling thread's errno (rumpuser_seterrno) on failure. */
int rump___sysimpl_socket30(int domain, int type, int protocol);
int rump___sysimpl_bind(int fd, const struct sockaddr *name, socklen_t length);
int rump___sysimpl_connect(int fd, const struct sockaddr *name, socklen_t length);
int rump___sysimpl_listen(int fd, int backlog);
int rump___sysimpl_paccept(int fd, struct sockaddr *name, socklen_t *length,
			    const void *signal_mask, int flags);
nb_ssize_t rump___sysimpl_sendto(int fd, const void *buffer, nb_size_t length, int flags,
				 const struct sockaddr *to, socklen_t to_length);
nb_ssize_t rump___sysimpl_recvfrom(int fd, void *buffer, nb_size_t length, int flags,
				   struct sockaddr *from, socklen_t *from_length);
int rump___sysimpl_setsockopt(int fd, int level, int name, const void *value, socklen_t length);
int rump___sysimpl_getsockopt(int fd, int level, int name, void *value, socklen_t *length);
int rump___sysimpl_getsockname(int fd, struct sockaddr *name, socklen_t *length);
int rump___sysimpl_getpeername(int fd, struct sockaddr *name, socklen_t *length);
int rump___sysimpl_shutdown(int fd, int how);
int rump___sysimpl_poll(struct pollfd *fds, nfds_t count, int timeout_milliseconds);
int rump___sysimpl_ioctl(int fd, unsigned long request, void *argument);

/* Layout checks (NetBSD x86_64). */
#define NB_IOC(direction, group, number, size)                                                 \
	((unsigned long)(direction) | (((unsigned long)(size) & 0x1fff) << 16) |                \
	 ((unsigned long)(group) << 8) | (unsigned long)(number))
#define NB_IOC_IN 0x80000000UL
#define NB_IOC_INOUT 0xc0000000UL
_Static_assert(sizeof(struct sockaddr) == 16, "sockaddr");
_Static_assert(sizeof(struct sockaddr_in) == 16, "sockaddr_in");
_Static_assert(sizeof(struct sockaddr_storage) == 128, "sockaddr_storage");
_Static_assert(sizeof(struct ifreq) == 144, "ifreq");
_Static_assert(sizeof(struct ifaliasreq) == 64, "ifaliasreq");
_Static_assert(sizeof(struct if_data) == 136, "if_data");
_Static_assert(sizeof(struct ifdatareq) == 152, "ifdatareq");
_Static_assert(sizeof(struct rt_msghdr) == 120, "rt_msghdr");
_Static_assert(sizeof(struct pollfd) == 8, "pollfd");
_Static_assert(SIOCSIFFLAGS == NB_IOC(NB_IOC_IN, 'i', 16, sizeof(struct ifreq)), "SIOCSIFFLAGS");
_Static_assert(SIOCGIFFLAGS == NB_IOC(NB_IOC_INOUT, 'i', 17, sizeof(struct ifreq)), "SIOCGIFFLAGS");
_Static_assert(SIOCAIFADDR == NB_IOC(NB_IOC_IN, 'i', 26, sizeof(struct ifaliasreq)), "SIOCAIFADDR");
_Static_assert(SIOCGIFADDR == NB_IOC(NB_IOC_INOUT, 'i', 33, sizeof(struct ifreq)), "SIOCGIFADDR");
_Static_assert(SIOCGIFNETMASK == NB_IOC(NB_IOC_INOUT, 'i', 37, sizeof(struct ifreq)),
	       "SIOCGIFNETMASK");
_Static_assert(SIOCGIFDATA == NB_IOC(NB_IOC_INOUT, 'i', 133, sizeof(struct ifdatareq)),
	       "SIOCGIFDATA");

#endif
