/*
 * The audio(4) and mixer ioctl interface of a NetBSD 7.99 rump kernel (/dev/audio, /dev/mixer),
 * as this project's clients call it through rump_sys_ioctl. Written for this project from the
 * interface's facts: structure layouts (x86_64, LP64), request numbers and constant values.
 * Names carry an NB_ / nb_ prefix so that they never clash with a host's own audio headers.
 *
 * rump-api's build script runs bindgen over this file; the Rust side is rump_api::audio.
 */
#ifndef RUMP_API_NETBSD_AUDIO_H
#define RUMP_API_NETBSD_AUDIO_H

#include <stdint.h>

/* ---- ioctl request encoding: direction | parameter length << 16 | group << 8 | number ---- */

#define NB_IOC_NONE 0x20000000u  /* no parameter */
#define NB_IOC_OUT 0x40000000u   /* the kernel writes the parameter */
#define NB_IOC_IN 0x80000000u    /* the kernel reads the parameter */
#define NB_IOC_INOUT (NB_IOC_IN | NB_IOC_OUT)
#define NB_IOC_LENGTH_MASK 0x1fffu
#define NB_IOC(direction, group, number, length)                                          \
	((uint32_t)(direction) | (((uint32_t)(length) & NB_IOC_LENGTH_MASK) << 16) |         \
	 ((uint32_t)(group) << 8) | (uint32_t)(number))

/* ---- playback and recording parameters ---- */

/* One direction (play or record) of an audio device: format, gain and state. */
struct nb_audio_prinfo {
	uint32_t sample_rate;  /* frames per second */
	uint32_t channels;
	uint32_t precision;    /* bits per sample */
	uint32_t encoding;     /* NB_AUDIO_ENCODING_* */
	uint32_t gain;         /* 0 .. NB_AUDIO_MAX_GAIN */
	uint32_t port;
	uint32_t seek;
	uint32_t avail_ports;
	uint32_t buffer_size;
	uint32_t spare_word;
	uint32_t samples;      /* samples transferred so far */
	uint32_t eof;          /* zero-length writes seen */
	uint8_t pause;
	uint8_t error;         /* an underrun or overrun happened */
	uint8_t waiting;
	uint8_t balance;
	uint8_t spare_bytes[2];
	uint8_t open;
	uint8_t active;        /* I/O in progress */
};

/* The whole device: both directions and the block and water-mark settings. */
struct nb_audio_info {
	struct nb_audio_prinfo play;
	struct nb_audio_prinfo record;
	uint32_t monitor_gain;
	uint32_t blocksize;
	uint32_t hiwat;
	uint32_t lowat;
	uint32_t spare_word;
	uint32_t mode;         /* NB_AUMODE_* */
};

_Static_assert(sizeof(struct nb_audio_prinfo) == 56, "audio_prinfo is 56 bytes");
_Static_assert(sizeof(struct nb_audio_info) == 136, "audio_info is 136 bytes");

/* A field left at all ones in AUDIO_SETINFO keeps its value: fill the structure with this byte. */
#define NB_AUDIO_INFO_UNCHANGED_BYTE 0xff

/* mode */
#define NB_AUMODE_PLAY 0x01
#define NB_AUMODE_RECORD 0x02
#define NB_AUMODE_PLAY_ALL 0x04  /* play every sample; no dropping to catch up with real time */

/* encoding */
#define NB_AUDIO_ENCODING_NONE 0
#define NB_AUDIO_ENCODING_ULAW 1
#define NB_AUDIO_ENCODING_ALAW 2
#define NB_AUDIO_ENCODING_SLINEAR_LE 6
#define NB_AUDIO_ENCODING_SLINEAR_BE 7
#define NB_AUDIO_ENCODING_ULINEAR_LE 8
#define NB_AUDIO_ENCODING_ULINEAR_BE 9

#define NB_AUDIO_MAX_GAIN 255

/* ---- mixer ---- */

#define NB_MIXER_NAME_LENGTH 16

struct nb_mixer_name {
	char name[NB_MIXER_NAME_LENGTH];
	int32_t message_id;
};

/* A value control's level, one byte per channel (0 .. NB_AUDIO_MAX_GAIN). */
struct nb_mixer_level {
	int32_t channel_count;
	uint8_t level[8];
};

/* mixer_devinfo type */
#define NB_MIXER_CLASS 0
#define NB_MIXER_ENUM 1
#define NB_MIXER_SET 2
#define NB_MIXER_VALUE 3
/* next / previous: no further control */
#define NB_MIXER_LAST (-1)

struct nb_mixer_enum_member {
	struct nb_mixer_name label;
	int32_t ordinal;
};

struct nb_mixer_set_member {
	struct nb_mixer_name label;
	int32_t mask;
};

struct nb_mixer_enum {
	int32_t member_count;
	struct nb_mixer_enum_member member[32];
};

struct nb_mixer_set {
	int32_t member_count;
	struct nb_mixer_set_member member[32];
};

struct nb_mixer_value {
	struct nb_mixer_name units;
	int32_t channel_count;
	int32_t delta;
};

/* What a control offers, by its type. */
union nb_mixer_detail {
	struct nb_mixer_enum enumeration;  /* NB_MIXER_ENUM */
	struct nb_mixer_set set;           /* NB_MIXER_SET */
	struct nb_mixer_value value;       /* NB_MIXER_VALUE */
};

/* Describes control `index` (AUDIO_MIXER_DEVINFO fills it in). */
struct nb_mixer_devinfo {
	int32_t index;
	struct nb_mixer_name label;
	int32_t type;          /* NB_MIXER_* */
	int32_t mixer_class;   /* index of the class control it belongs to */
	int32_t next;
	int32_t previous;
	union nb_mixer_detail detail;
};

/* A control's setting, by its type. */
union nb_mixer_setting {
	int32_t ordinal;               /* NB_MIXER_ENUM */
	int32_t mask;                  /* NB_MIXER_SET */
	struct nb_mixer_level value;   /* NB_MIXER_VALUE */
};

/* The setting of control `device` (AUDIO_MIXER_READ fills it in, AUDIO_MIXER_WRITE applies it). */
struct nb_mixer_ctrl {
	int32_t device;
	int32_t type;          /* must match the control's NB_MIXER_* */
	union nb_mixer_setting setting;
};

_Static_assert(sizeof(struct nb_mixer_devinfo) == 812, "mixer_devinfo is 812 bytes");
_Static_assert(sizeof(struct nb_mixer_ctrl) == 20, "mixer_ctrl is 20 bytes");

/* ---- requests ---- */

static const uint32_t NB_AUDIO_GETINFO = NB_IOC(NB_IOC_OUT, 'A', 21, sizeof(struct nb_audio_info));
static const uint32_t NB_AUDIO_SETINFO =
	NB_IOC(NB_IOC_INOUT, 'A', 22, sizeof(struct nb_audio_info));
static const uint32_t NB_AUDIO_DRAIN = NB_IOC(NB_IOC_NONE, 'A', 23, 0);
static const uint32_t NB_AUDIO_FLUSH = NB_IOC(NB_IOC_NONE, 'A', 24, 0);
static const uint32_t NB_AUDIO_MIXER_READ = NB_IOC(NB_IOC_INOUT, 'M', 0, sizeof(struct nb_mixer_ctrl));
static const uint32_t NB_AUDIO_MIXER_WRITE =
	NB_IOC(NB_IOC_INOUT, 'M', 1, sizeof(struct nb_mixer_ctrl));
static const uint32_t NB_AUDIO_MIXER_DEVINFO =
	NB_IOC(NB_IOC_INOUT, 'M', 2, sizeof(struct nb_mixer_devinfo));

#endif
