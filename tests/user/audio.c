/*
 * A user program speaking NetBSD's audio(4) interface through this kernel's /dev/audio and
 * /dev/mixer, which the rump kernel serves. Request numbers and structures come from the
 * project's header rump-api/include/netbsd_audio.h.
 *
 *   audio tone FREQ MS          48 kHz 16-bit stereo sine at half scale, then AUDIO_DRAIN
 *   audio level CLASS.NAME N    sets a mixer level control (every channel) and reads it back
 *   audio silence MS            plays silence (for a process that is killed while it writes)
 *   audio bad                   bad arguments, each with the errno it gets
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "netbsd_audio.h"

#define RATE 48000
#define CHANNELS 2

static const char *errno_name(int value)
{
	switch (value) {
	case 0: return "0";
	case EBADF: return "EBADF";
	case EBUSY: return "EBUSY";
	case EFAULT: return "EFAULT";
	case EINVAL: return "EINVAL";
	case ENODEV: return "ENODEV";
	case ENOENT: return "ENOENT";
	case ENOTTY: return "ENOTTY";
	case ENXIO: return "ENXIO";
	case ESPIPE: return "ESPIPE";
	case EAGAIN: return "EAGAIN";
	case EINTR: return "EINTR";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	default: return "other";
	}
}

static int open_play(void)
{
	int fd = open("/dev/audio", O_WRONLY);
	if (fd < 0) {
		printf("open /dev/audio: %s\n", errno_name(errno));
		return -1;
	}
	struct nb_audio_info info;
	memset(&info, NB_AUDIO_INFO_UNCHANGED_BYTE, sizeof info);
	info.play.sample_rate = RATE;
	info.play.channels = CHANNELS;
	info.play.precision = 16;
	info.play.encoding = NB_AUDIO_ENCODING_SLINEAR_LE;
	info.mode = NB_AUMODE_PLAY | NB_AUMODE_PLAY_ALL;
	if (ioctl(fd, NB_AUDIO_SETINFO, &info) < 0) {
		printf("AUDIO_SETINFO: %s\n", errno_name(errno));
		close(fd);
		return -1;
	}
	memset(&info, 0, sizeof info);
	if (ioctl(fd, NB_AUDIO_GETINFO, &info) < 0) {
		printf("AUDIO_GETINFO: %s\n", errno_name(errno));
		close(fd);
		return -1;
	}
	printf("format %u Hz, %u channels, %u bits, encoding %u\n", info.play.sample_rate,
	       info.play.channels, info.play.precision, info.play.encoding);
	return fd;
}

/* Writes `frames` frames of a sine, 100 ms at a time, between 200 ms of silence on each side
 * (so that a recording shows where each tone begins and ends). */
static int play(int fd, double frequency, double amplitude, long frames)
{
	static short buffer[RATE / 10 * CHANNELS];
	long silence = RATE / 5, total = 0, tone_bytes = 0;
	for (long done = 0; done < frames + 2 * silence;) {
		long count = frames + 2 * silence - done;
		if (count > RATE / 10)
			count = RATE / 10;
		if (done < silence && done + count > silence)
			count = silence - done;
		if (done < silence + frames && done + count > silence + frames)
			count = silence + frames - done;
		int sounding = done >= silence && done < silence + frames;
		for (long i = 0; i < count; i++) {
			double t = (double)(done - silence + i) / RATE;
			double value = sounding ? amplitude * 32767.0 * sin(2 * M_PI * frequency * t) : 0;
			for (int c = 0; c < CHANNELS; c++)
				buffer[i * CHANNELS + c] = (short)lrint(value);
		}
		size_t bytes = (size_t)count * CHANNELS * sizeof(short);
		ssize_t written = write(fd, buffer, bytes);
		if (written < 0) {
			printf("write: %s after %ld bytes\n", errno_name(errno), total);
			return -1;
		}
		total += written;
		if ((size_t)written != bytes) {
			printf("write: short, %zd of %zu\n", written, bytes);
			return -1;
		}
		if (sounding)
			tone_bytes += written;
		done += count;
	}
	if (ioctl(fd, NB_AUDIO_DRAIN) < 0) {
		printf("AUDIO_DRAIN: %s\n", errno_name(errno));
		return -1;
	}
	printf("played %ld bytes of tone, %ld in all\n", tone_bytes, total);
	return 0;
}

static int tone(double frequency, long millis, double amplitude)
{
	int fd = open_play();
	if (fd < 0)
		return 1;
	int result = play(fd, frequency, amplitude, RATE * millis / 1000);
	close(fd);
	return result < 0;
}

/* Finds mixer control `wanted` ("outputs.master"); fills `info`. */
static int find_control(int mixer, const char *wanted, struct nb_mixer_devinfo *info)
{
	for (int index = 0;; index++) {
		memset(info, 0, sizeof *info);
		info->index = index;
		if (ioctl(mixer, NB_AUDIO_MIXER_DEVINFO, info) < 0)
			return -1;
		if (info->type != NB_MIXER_VALUE || info->mixer_class < 0)
			continue;
		struct nb_mixer_devinfo class;
		memset(&class, 0, sizeof class);
		class.index = info->mixer_class;
		if (ioctl(mixer, NB_AUDIO_MIXER_DEVINFO, &class) < 0)
			return -1;
		char name[2 * NB_MIXER_NAME_LENGTH + 2];
		snprintf(name, sizeof name, "%.16s.%.16s", class.label.name, info->label.name);
		if (strcmp(name, wanted) == 0)
			return 0;
	}
}

static int level(const char *name, int value)
{
	int mixer = open("/dev/mixer", O_RDWR);
	if (mixer < 0) {
		printf("open /dev/mixer: %s\n", errno_name(errno));
		return 1;
	}
	struct nb_mixer_devinfo info;
	if (find_control(mixer, name, &info) < 0) {
		printf("%s: no such level control\n", name);
		return 1;
	}
	struct nb_mixer_ctrl control;
	memset(&control, 0, sizeof control);
	control.device = info.index;
	control.type = NB_MIXER_VALUE;
	control.setting.value.channel_count = info.detail.value.channel_count;
	if (ioctl(mixer, NB_AUDIO_MIXER_READ, &control) < 0) {
		printf("AUDIO_MIXER_READ: %s\n", errno_name(errno));
		return 1;
	}
	int before = control.setting.value.level[0];
	for (int c = 0; c < control.setting.value.channel_count && c < 8; c++)
		control.setting.value.level[c] = (uint8_t)value;
	if (ioctl(mixer, NB_AUDIO_MIXER_WRITE, &control) < 0) {
		printf("AUDIO_MIXER_WRITE: %s\n", errno_name(errno));
		return 1;
	}
	memset(&control.setting, 0, sizeof control.setting);
	control.setting.value.channel_count = info.detail.value.channel_count;
	if (ioctl(mixer, NB_AUDIO_MIXER_READ, &control) < 0) {
		printf("AUDIO_MIXER_READ: %s\n", errno_name(errno));
		return 1;
	}
	printf("%s: %d channels, level %d -> %d (asked %d, step %d)\n", name,
	       control.setting.value.channel_count, before, control.setting.value.level[0], value,
	       info.detail.value.delta);
	close(mixer);
	return 0;
}

static void report(const char *what, long result)
{
	printf("%s: %s\n", what, result < 0 ? errno_name(errno) : "ok");
}

static int bad(void)
{
	int fd = open_play();
	if (fd < 0)
		return 1;
	struct stat st;
	if (fstat(fd, &st) == 0)
		printf("fstat: %s %u,%u\n", S_ISCHR(st.st_mode) ? "character device" : "other",
		       major(st.st_rdev), minor(st.st_rdev));
	report("AUDIO_GETINFO to NULL", ioctl(fd, NB_AUDIO_GETINFO, NULL));
	report("AUDIO_SETINFO from an unmapped address", ioctl(fd, NB_AUDIO_SETINFO, (void *)8));
	report("AUDIO_GETINFO to a read-only page", ioctl(fd, NB_AUDIO_GETINFO, (void *)&bad));
	char scratch[64] = {0};
	report("a request of another group", ioctl(fd, NB_IOC(NB_IOC_INOUT, 'R', 1, 16), scratch));
	report("Linux's SNDCTL_DSP_SPEED", ioctl(fd, 0xc0045002u, scratch));
	void *volatile unmapped = (void *)8; /* hidden from the compiler's bounds check */
	report("write from an unmapped address", write(fd, unmapped, 4096));
	report("lseek", lseek(fd, 0, SEEK_SET));
	int second = open("/dev/audio", O_WRONLY);
	report("a second open while playing", second);
	if (second >= 0)
		close(second);
	struct nb_audio_info info;
	memset(&info, NB_AUDIO_INFO_UNCHANGED_BYTE, sizeof info);
	info.play.encoding = 0x7777;
	report("AUDIO_SETINFO with an unknown encoding", ioctl(fd, NB_AUDIO_SETINFO, &info));
	report("read from a play-only descriptor", read(fd, scratch, sizeof scratch));
	close(fd);
	int mixer = open("/dev/mixer", O_RDWR);
	report("open /dev/mixer", mixer);
	struct nb_mixer_devinfo devinfo;
	memset(&devinfo, 0, sizeof devinfo);
	devinfo.index = 100000;
	report("AUDIO_MIXER_DEVINFO past the last control", ioctl(mixer, NB_AUDIO_MIXER_DEVINFO, &devinfo));
	close(mixer);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc == 4 && strcmp(argv[1], "tone") == 0)
		return tone(atof(argv[2]), atol(argv[3]), 0.5);
	if (argc == 3 && strcmp(argv[1], "silence") == 0)
		return tone(440, atol(argv[2]), 0.0);
	if (argc == 4 && strcmp(argv[1], "level") == 0)
		return level(argv[2], atoi(argv[3]));
	if (argc == 2 && strcmp(argv[1], "bad") == 0)
		return bad();
	fprintf(stderr, "usage: audio tone FREQ MS | silence MS | level CLASS.NAME N | bad\n");
	return 2;
}
