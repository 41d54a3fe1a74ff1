#!/bin/sh
# Builds the kernel's gpio-sim driver as a module for the VM's Debian kernel, which
# does not ship it (CONFIG_GPIO_SIM is off in Debian's kernels), from Debian's own
# kernel source and headers. Run in the VM's root (chroot) by gpiosim_test.go.
# The irq_sim helper it needs (CONFIG_IRQ_SIM, also off) is built into the module;
# its one use of the unexported irq_to_desc is replaced by generic_handle_irq.
set -eu
ver=$(ls /lib/modules | head -n 1)
src=/usr/src/linux-source-6.1.tar.xz
dir=/usr/src/gpio-sim
mkdir -p "$dir"
cd "$dir"
tar -xf "$src" --strip-components=3 linux-source-6.1/drivers/gpio/gpio-sim.c linux-source-6.1/drivers/gpio/gpiolib.h
tar -xf "$src" --strip-components=3 linux-source-6.1/kernel/irq/irq_sim.c
mv gpio-sim.c gpio-sim-main.c
sed -i 's/handle_simple_irq(irq_to_desc(irqnum));/generic_handle_irq(irqnum);/' irq_sim.c
printf 'obj-m := gpio-sim.o\ngpio-sim-y := gpio-sim-main.o irq_sim.o\n' >Makefile
make -s -C "/usr/src/linux-headers-$ver" M="$dir" modules
install -D -m 0644 gpio-sim.ko "/lib/modules/$ver/extra/gpio-sim.ko"
depmod "$ver"
echo "gpio-sim.ko built for $ver"
