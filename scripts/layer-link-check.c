/* SPDX-License-Identifier: MIT
 *
 * The program of the layer link checks (meson.build, "Layer link checks"): it does nothing, and
 * exists so that each layer's objects can be linked whole against the layers below it only. A
 * layer that calls upwards then fails to link; the program is never run.
 */
int main(void)
{
    return 0;
}
