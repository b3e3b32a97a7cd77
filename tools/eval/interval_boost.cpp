// Interval arithmetic with Boost.Interval (Debian libboost-dev): encloses the range of a polynomial and of a
// Newton step over many small boxes, as a verified-computation code (branch and bound) does. Boost's x86-64
// rounding control switches the MXCSR to round-downward and round-upward for the bounds and back. Full speed, one
// thread; runs for argv[1] seconds (default: forever).
#include <boost/numeric/interval.hpp>
#include <cstdio>
#include <cstdlib>
#include <ctime>

typedef boost::numeric::interval<double> I;

static I poly(const I &x)
{
	// (x^3 - 2x + 1) * (x^2 + 0.5): Horner form
	return ((x * x * x - 2.0 * x + 1.0) * (square(x) + 0.5));
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? std::atof(argv[1]) : 0;
	std::time_t end = std::time(nullptr) + (std::time_t)secs;
	double widest = 0;
	unsigned long boxes = 0, roots = 0;
	for (unsigned long pass = 0;; pass++) {
		const int n = 4096;
		double a = -3.0 + 1e-3 * (double)(pass % 13), w = 6.0 / n;
		for (int i = 0; i < n; i++) {
			I x(a + i * w, a + (i + 1) * w);
			I y = poly(x);
			boxes++;
			if (zero_in(y)) {
				// one interval Newton step on the box: m - f(m) / f'(x)
				double m = median(x);
				I fm = poly(I(m));
				I d = 3.0 * square(x) - 2.0;
				if (!zero_in(d)) {
					I step = m - fm / d;
					if (overlap(x, step)) {
						I nx = intersect(x, step);
						roots++;
						if (width(nx) > widest)
							widest = width(nx);
					}
				}
			}
		}
		if ((pass & 15) == 0 && secs > 0 && std::time(nullptr) >= end)
			break;
	}
	std::printf("%lu boxes, %lu Newton steps, widest enclosure %g\n", boxes, roots, widest);
	return 0;
}
